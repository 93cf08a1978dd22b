namespace Iommufd.Core.Driver;

/// <summary>
/// A paging domain's dirty tracking (the kernel's <c>struct iommu_dirty_ops</c>): what
/// <see cref="IPagingDomain.DirtyOps"/> returns for a domain allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING. The core
/// calls it under the IOAS lock, for ranges the IOAS has mapped.
/// </summary>
public interface IDirtyTracking
{
    /// <summary>set_dirty_tracking: starts or stops recording DMA writes in the page table.</summary>
    Errno SetDirtyTracking(bool enable);

    /// <summary>
    /// read_and_clear_dirty: records in <paramref name="bitmap"/> every page of [<paramref name="iova"/>,
    /// +<paramref name="length"/>) whose dirty bit is set and clears the bit unless <paramref name="noClear"/>
    /// (IOMMU_DIRTY_NO_CLEAR). An empty <paramref name="bitmap"/> only clears, whether or not tracking is on (what
    /// io_pagetable.c iopt_clear_dirty_data() asks before tracking starts); with a bitmap and tracking off the
    /// answer is an errno of the driver's choosing.
    /// </summary>
    Errno ReadAndClearDirty(ulong iova, ulong length, bool noClear, ref DirtyBitmap bitmap);
}
