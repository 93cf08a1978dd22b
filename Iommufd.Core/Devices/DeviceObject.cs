using Iommufd.Core.Hwpt;
using Iommufd.Core.Objects;
using Iommufd.Core.Viommu;

namespace Iommufd.Core.Devices;

/// <summary>
/// A device bound to an iommufd file (the kernel's <c>struct iommufd_device</c>, made by VFIO's
/// BIND_IOMMUFD). The binding itself counts as a user, so IOMMU_DESTROY on a device ID is EBUSY; the device
/// leaves the table when it is unbound.
/// </summary>
internal sealed class DeviceObject : IommufdObject
{
    public DeviceObject(EndpointDevice device) => Device = device;

    public override IommufdObjectType Type => IommufdObjectType.Device;

    internal override bool DestroyableByUser => false;

    public EndpointDevice Device { get; }

    /// <summary>The HWPT the device is attached to, or null. Guarded by the file's attach lock.</summary>
    public HwptObject? Attached { get; set; }

    /// <summary>Guards <see cref="Vdevice"/> and <see cref="Unbinding"/>.</summary>
    public Lock VdeviceLock { get; } = new();

    /// <summary>The device's vDEVICE, or null. Guarded by <see cref="VdeviceLock"/>.</summary>
    public VdeviceObject? Vdevice { get; set; }

    /// <summary>True once unbinding started: no new vDEVICE may be made for it. Guarded by <see cref="VdeviceLock"/>.</summary>
    public bool Unbinding { get; set; }

    internal override void Destroy()
    {
    }
}
