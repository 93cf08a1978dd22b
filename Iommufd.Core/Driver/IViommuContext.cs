using Iommufd.Core.Devices;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Driver;

/// <summary>What the iommufd core offers a vIOMMU driver (the kernel's <c>iommufd_viommu_*</c> helpers).</summary>
public interface IViommuContext
{
    /// <summary>The vIOMMU's object ID.</summary>
    uint Id { get; }

    /// <summary>The nest-parent paging domain (stage 2) the vIOMMU was allocated on.</summary>
    IPagingDomain Parent { get; }

    /// <summary>Finds the device whose vDEVICE has <paramref name="virtId"/> (vSID → device).</summary>
    bool TryFindDevice(ulong virtId, out EndpointDevice device);

    /// <summary>Finds the virtual ID of <paramref name="device"/>'s vDEVICE on this vIOMMU.</summary>
    bool TryGetVirtId(EndpointDevice device, out ulong virtId);

    /// <summary>Registers a region for <c>mmap</c> on the iommufd file and returns its offset.</summary>
    Errno AllocMmap(IMmioRegion region, out ulong offset);

    /// <summary>Removes a registration made by <see cref="AllocMmap"/>.</summary>
    void FreeMmap(ulong offset);

    /// <summary>
    /// Queues an event on the vIOMMU's vEVENTQ of <paramref name="type"/>. Without such a queue the event is
    /// dropped and the answer is EOPNOTSUPP (drivers/iommu/iommufd/driver.c iommufd_viommu_report_event()).
    /// </summary>
    Errno ReportEvent(IommuVeventqType type, ReadOnlySpan<byte> payload);
}

/// <summary>A vDEVICE as its driver sees it.</summary>
public interface IVdeviceContext
{
    /// <summary>The physical device.</summary>
    EndpointDevice Device { get; }

    /// <summary>The ID the guest knows the device by (the vSID on SMMUv3).</summary>
    ulong VirtId { get; }

    /// <summary>Driver state for the vDEVICE (Tegra241: its SID pair index).</summary>
    object? DriverState { get; set; }
}

/// <summary>A HW queue being allocated, as its driver sees it.</summary>
public interface IHwQueueContext
{
    /// <summary>The queue type the caller asked for (IOMMU_HW_QUEUE_ALLOC's <c>type</c>).</summary>
    IommuHwQueueType Type { get; }

    /// <summary>The queue's index within its vIOMMU (IOMMU_HW_QUEUE_ALLOC's <c>index</c>).</summary>
    uint Index { get; }

    /// <summary>The guest address of the queue (an IOVA of the nest parent).</summary>
    ulong NestingParentIova { get; }

    /// <summary>The physical address the core resolved and pinned: first page's PA plus the offset in it.</summary>
    ulong BasePhysicalAddress { get; }

    /// <summary>The queue memory's length in bytes (IOMMU_HW_QUEUE_ALLOC's <c>length</c>).</summary>
    ulong Length { get; }

    /// <summary>
    /// Makes this queue depend on <paramref name="previous"/>: while this one exists, destroying
    /// <paramref name="previous"/> answers EBUSY (the kernel's <c>iommufd_hw_queue_depend</c>).
    /// </summary>
    void DependOn(IHwQueueContext previous);
}
