namespace Iommufd.Core.Driver;

/// <summary>
/// A paging domain: a host page table that the core fills from an IOAS (map on IOAS_MAP, unmap on IOAS_UNMAP).
/// </summary>
public interface IPagingDomain : IIommuDomain
{
    /// <summary>First IOVA the domain can translate.</summary>
    ulong ApertureStart { get; }

    /// <summary>Last IOVA (inclusive) the domain can translate.</summary>
    ulong ApertureLast { get; }

    /// <summary>
    /// The page sizes the domain maps (iommu_domain.pgsize_bitmap); its lowest bit sets the IOVA alignment of every
    /// IOAS the domain mirrors (io_pagetable.c iopt_table_add_domain()). A CPU page unless the driver says otherwise.
    /// </summary>
    ulong PageSizeBitmap => Memory.PhysicalMemory.PageSize;

    /// <summary>
    /// The domain's dirty tracking (iommu_domain.dirty_ops): non-null only for a domain allocated with
    /// IOMMU_HWPT_ALLOC_DIRTY_TRACKING. Without it SET_DIRTY_TRACKING and GET_DIRTY_BITMAP are EOPNOTSUPP.
    /// </summary>
    IDirtyTracking? DirtyOps => null;

    /// <summary>True when the domain was allocated with NEST_PARENT.</summary>
    bool IsNestParent { get; }

    /// <summary>Maps [<paramref name="iova"/>, +<paramref name="length"/>) to physical memory at <paramref name="physicalAddress"/>.</summary>
    Errno Map(ulong iova, ulong physicalAddress, ulong length, IommuProtection protection);

    /// <summary>
    /// Unmaps the range and invalidates the host's cached translations of it before returning (map_pages /
    /// unmap_pages + iotlb_sync): on success no device can translate through the range any more and no DMA that
    /// did can still land. An error (ETIMEDOUT: the IOMMU did not complete the invalidation) means that promise
    /// does not hold yet; the range is gone from the table, but the memory behind it must stay pinned.
    /// </summary>
    Errno Unmap(ulong iova, ulong length);

    /// <summary>The physical address <paramref name="iova"/> maps to, if any (the kernel's iova_to_phys).</summary>
    bool TryTranslate(ulong iova, out ulong physicalAddress, out IommuProtection protection);
}
