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

    /// <summary>
    /// The HWPT attached to each PASID of the device (device.c: the group's <c>pasid_attach</c> array other than
    /// IOMMU_NO_PASID; here every device is its own group). Each holds a user of its HWPT. Guarded by the file's
    /// attach lock.
    /// </summary>
    public Dictionary<uint, HwptObject> PasidAttached { get; } = [];

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
