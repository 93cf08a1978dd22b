using Iommufd.Core.Devices;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Driver;

/// <summary>
/// One IOMMU of the platform, as its driver presents it to the core (the kernel's <c>struct iommu_ops</c> plus the
/// device-side hooks). Everything the core asks of a driver about a device goes through here.
/// </summary>
public interface IIommuInstance
{
    /// <summary>The instance's name, which platform devices refer to.</summary>
    string Name { get; }

    /// <summary>Called when the platform places <paramref name="device"/> behind this IOMMU.</summary>
    void ProbeDevice(EndpointDevice device);

    /// <summary>
    /// IOMMU_GET_HW_INFO: writes the driver's info struct for <paramref name="requestedType"/>
    /// (<see cref="IommuHwInfoType.Default"/> means the native type) into <paramref name="data"/>, which is large
    /// enough for any info struct, and says how long it is. An unsupported type is EOPNOTSUPP.
    /// </summary>
    Errno GetHwInfo(EndpointDevice device, IommuHwInfoType requestedType, Span<byte> data, out HwInfoResult result);

    /// <summary>
    /// device_iommu_capable(IOMMU_CAP_DIRTY_TRACKING): whether the device's translation can track dirty pages. The core
    /// reports it as IOMMU_HW_CAP_DIRTY_TRACKING in GET_HW_INFO and refuses IOMMU_HWPT_ALLOC_DIRTY_TRACKING without it
    /// (EOPNOTSUPP).
    /// </summary>
    bool SupportsDirtyTracking(EndpointDevice device) => false;

    /// <summary>Allocates a paging domain (a host page table) for <paramref name="device"/>.</summary>
    Errno AllocPagingDomain(EndpointDevice device, IommuHwptAllocFlags flags, out IPagingDomain domain);

    /// <summary>
    /// Allocates a nested domain on a nest-parent paging domain (the older, vIOMMU-less path). Drivers that only
    /// nest through a vIOMMU return EOPNOTSUPP.
    /// </summary>
    Errno AllocNestedDomain(EndpointDevice device, IPagingDomain parent, IommuHwptAllocFlags flags, UserData data, out INestedDomain domain)
    {
        domain = null!;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>True when this IOMMU can host a vIOMMU of <paramref name="type"/> for the device
    /// (the kernel's <c>get_viommu_size</c> returning non-zero).</summary>
    bool SupportsViommu(EndpointDevice device, IommuViommuType type) => false;

    /// <summary>
    /// Builds the driver side of a vIOMMU (the kernel's <c>viommu_init</c>). <paramref name="data"/> is empty when the
    /// caller passed no driver data.
    /// </summary>
    Errno InitViommu(IViommuContext context, EndpointDevice device, IommuViommuType type, IPagingDomain parent, UserData data, out IViommu viommu)
    {
        viommu = null!;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// Attaches <paramref name="device"/> to <paramref name="domain"/>, replacing whatever it was attached to.
    /// A domain of another IOMMU is EINVAL.
    /// </summary>
    Errno Attach(EndpointDevice device, IIommuDomain domain);

    /// <summary>Puts the device in the blocking state (no DMA).</summary>
    void Detach(EndpointDevice device);

    /// <summary>
    /// Whether this IOMMU's domains and its blocked domain have a <c>set_dev_pasid</c> (drivers/iommu/iommu.c
    /// iommu_attach_device_pasid() answers EOPNOTSUPP without them, before any other check of the domain or the
    /// PASID). A driver that returns true implements <see cref="AttachPasid"/> and <see cref="DetachPasid"/>.
    /// </summary>
    bool SupportsPasid => false;

    /// <summary>
    /// The device's PASID count (the kernel's <c>dev->iommu->max_pasids</c>): 0 for a device that takes no PASID. The
    /// core refuses a PASID at or above a non-zero count (drivers/iommu/iommu.c iommu_attach_device_pasid(), EINVAL);
    /// a device with none is left out of the PASID's validation and its <c>set_dev_pasid</c>, as iommu.c skips
    /// such devices.
    /// </summary>
    uint MaxPasids(EndpointDevice device) => 0;

    /// <summary>
    /// The kernel's <c>iommu_ops.user_pasid_table</c>: the PASID table of a nested domain on the RID is the guest's, so
    /// an I/O page fault with a PASID that has no attachment of its own goes to the RID's nested domain
    /// (io-pgfault.c find_fault_handler()).
    /// </summary>
    bool UserPasidTable => false;

    /// <summary>
    /// Attaches PASID <paramref name="pasid"/> (never IOMMU_NO_PASID) of the device to <paramref name="domain"/>, or
    /// moves it there from <paramref name="old"/> with no blocking window (the domain's <c>set_dev_pasid</c>). On an
    /// error the PASID keeps <paramref name="old"/>. A driver without PASID support answers EOPNOTSUPP.
    /// </summary>
    Errno AttachPasid(EndpointDevice device, uint pasid, IIommuDomain domain, IIommuDomain? old) => Errno.EOPNOTSUPP;

    /// <summary>Puts one PASID of the device in the blocking state (the blocked domain's <c>set_dev_pasid</c>).</summary>
    void DetachPasid(EndpointDevice device, uint pasid)
    {
    }

    /// <summary>Performs a DMA transaction from <paramref name="device"/> through its current translation.</summary>
    DmaStatus Dma(EndpointDevice device, ulong iova, Span<byte> buffer, DmaDirection direction);

    /// <summary>
    /// A DMA transaction with PASID <paramref name="pasid"/> (null: without one). An IOMMU that does not take
    /// PASIDs blocks every transaction that carries one.
    /// </summary>
    DmaStatus Dma(EndpointDevice device, uint? pasid, ulong iova, Span<byte> buffer, DmaDirection direction) =>
        pasid is null ? Dma(device, iova, buffer, direction) : DmaStatus.Blocked;
}
