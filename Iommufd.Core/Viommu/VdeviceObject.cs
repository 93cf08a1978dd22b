using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Objects;

namespace Iommufd.Core.Viommu;

/// <summary>A vDEVICE: a device as one vIOMMU's guest knows it, under a virtual ID (vSID on SMMUv3).</summary>
internal sealed class VdeviceObject : IommufdObject, IVdeviceContext
{
    public VdeviceObject(ViommuObject viommu, DeviceObject idev, ulong virtId)
    {
        Viommu = viommu;
        Idev = idev;
        VirtId = virtId;
    }

    public override IommufdObjectType Type => IommufdObjectType.Vdevice;

    public ViommuObject Viommu { get; }

    public DeviceObject Idev { get; }

    public EndpointDevice Device => Idev.Device;

    public ulong VirtId { get; }

    public object? DriverState { get; set; }

    /// <summary>True once the driver's <c>vdevice_init</c> ran (so destroy must undo it).</summary>
    public bool DriverInitialized { get; set; }

    internal override void Destroy()
    {
        if (DriverInitialized && Viommu.Driver is IViommuVdevices ops)
        {
            ops.DestroyVdevice(this);
        }

        Viommu.RemoveVdevice(this);
        lock (Idev.VdeviceLock)
        {
            if (Idev.Vdevice == this)
            {
                Idev.Vdevice = null;
            }
        }

        Viommu.RemoveUser();
        Idev.RemoveUser();
    }
}
