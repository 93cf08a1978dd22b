using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// A mock paging domain: a software page table of MOCK_IO_PAGE_SIZE (half a CPU page, selftest.c) pages, IOVA →
/// (physical address, protection, dirty, huge), over the mock aperture [MOCK_APERTURE_START, MOCK_APERTURE_LAST]
/// (iommufd_test.h). The core mirrors an IOAS into it with <see cref="Map"/> and <see cref="Unmap"/>; DMA and HW-queue
/// checks read it with <see cref="TryTranslate(ulong, bool, out ulong, out IommuProtection)"/>. A domain allocated with DIRTY_TRACKING has dirty ops
/// (selftest.c dirty_ops): while tracking is on, a DMA write sets the dirty bit of each mock page it lands in.
/// </summary>
/// <remarks>
/// The kernel's newest mock uses the generic_pt AMDv1 format (selftest.c); a flat map gives the same answers for the
/// questions iommufd asks (iova_to_phys, map, unmap) without modelling page-table memory.
/// </remarks>
internal sealed class MockPagingDomain : IPagingDomain, IDirtyTracking
{
    /// <summary>MOCK_IO_PAGE_SIZE (selftest.c): half a CPU page, so an IOAS with a mock domain aligns IOVAs to 2 KiB.</summary>
    public const ulong IoPageSize = PhysicalMemory.PageSize / 2;

    /// <summary>MOCK_HUGE_PAGE_SIZE (selftest.c): 512 mock pages, the second page size of a HUGE_IOVA device's domain.</summary>
    public const ulong HugePageSize = 512 * IoPageSize;

    private const int IoPageShift = PhysicalMemory.PageShift - 1;
    private const ulong PageMask = IoPageSize - 1;

    private readonly MockIommu _iommu;

    // Guards _pages, _freed and _tracking. Map, Unmap and TryTranslate may race: the core maps under its IOAS lock while
    // devices translate DMA on their own threads.
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Pte> _pages = [];
    private readonly bool _hasDirtyOps;
    private bool _freed;
    private bool _tracking; // MOCK_DIRTY_TRACK

    /// <param name="iommu">The IOMMU the domain belongs to.</param>
    /// <param name="isNestParent">Allocated with NEST_PARENT.</param>
    /// <param name="dirtyOps">Allocated with DIRTY_TRACKING: the domain has dirty ops.</param>
    /// <param name="hugePages">For a MOCK_FLAGS_DEVICE_HUGE_IOVA device: MOCK_HUGE_PAGE_SIZE joins the page sizes.</param>
    public MockPagingDomain(MockIommu iommu, bool isNestParent, bool dirtyOps = false, bool hugePages = false)
    {
        _iommu = iommu;
        IsNestParent = isNestParent;
        _hasDirtyOps = dirtyOps;
        PageSizeBitmap = hugePages ? IoPageSize | HugePageSize : IoPageSize;
        iommu.DomainAllocated();
    }

    public IIommuInstance Iommu => _iommu;

    public ulong ApertureStart => SelftestConstants.MockApertureStart;

    public ulong ApertureLast => SelftestConstants.MockApertureLast;

    public bool IsNestParent { get; }

    /// <summary>mock_domain_alloc_paging(): pgsize_bitmap is MOCK_IO_PAGE_SIZE, with MOCK_HUGE_PAGE_SIZE for HUGE_IOVA.</summary>
    public ulong PageSizeBitmap { get; }

    /// <summary>domain->dirty_ops: set only for a domain allocated with DIRTY_TRACKING.</summary>
    public IDirtyTracking? DirtyOps => _hasDirtyOps ? this : null;

    /// <summary>Pages mapped right now (for leak checks).</summary>
    public int MappedPages
    {
        get
        {
            lock (_lock)
            {
                return _pages.Count;
            }
        }
    }

    /// <summary>
    /// Maps whole pages. A range that is not page aligned, lies outside the aperture or overlaps a mapped page is
    /// EINVAL; the core never asks for any of these (it reserves everything outside the aperture and maps each IOVA once),
    /// so the answer only guards against a broken caller. Nothing is mapped on failure.
    /// </summary>
    public Errno Map(ulong iova, ulong physicalAddress, ulong length, IommuProtection protection)
    {
        if (length == 0 || ((iova | physicalAddress | length) & PageMask) != 0
            || iova < ApertureStart || iova > ApertureLast || length - 1 > ApertureLast - iova)
        {
            return Errno.EINVAL;
        }

        if (_iommu.AllocationFails())
        {
            return Errno.ENOMEM; // a page-table allocation; iommufd_fail_nth.c sweeps IOAS_MAP through these
        }

        ulong first = iova >> IoPageShift;
        ulong count = length >> IoPageShift;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_freed, this);
            for (ulong i = 0; i < count; i++)
            {
                if (_pages.ContainsKey(first + i))
                {
                    return Errno.EINVAL;
                }
            }

            // iommu_map() picks the largest page size that the addresses' alignment and the length allow; every mock
            // entry of a huge page carries MOCK_PFN_HUGE_IOVA (selftest.c mock_domain_map_pages()).
const ulong hugeEntries = HugePageSize / IoPageSize;
            bool hugeSize = (PageSizeBitmap & HugePageSize) != 0;
            for (ulong i = 0; i < count;)
            {
                ulong va = (first + i) << IoPageShift;
                ulong pa = physicalAddress + (i << IoPageShift);
                bool huge = hugeSize && ((va | pa) & (HugePageSize - 1)) == 0 && count - i >= hugeEntries;
                for (ulong end = i + (huge ? hugeEntries : 1); i < end; i++, pa += IoPageSize)
                {
                    _pages.Add(first + i, new Pte(pa, protection, Dirty: false, Huge: huge));
                }
            }
        }

        return Errno.Success;
    }

    /// <summary>
    /// Unmaps every page that intersects the range. The mock has no IOTLB for paging domains, so nothing stale can
    /// remain once the entries are gone.
    /// </summary>
    public Errno Unmap(ulong iova, ulong length)
    {
        if (length == 0)
        {
            return Errno.Success;
        }

        ulong first = iova >> IoPageShift;
        ulong last = (iova + Math.Min(length - 1, ulong.MaxValue - iova)) >> IoPageShift;
        lock (_lock)
        {
            if (last - first >= (ulong)_pages.Count)
            {
                // A range larger than the table: walk the table instead of the range.
                foreach (var page in _pages.Keys.Where(p => p >= first && p <= last).ToList())
                {
                    _pages.Remove(page);
                }

                return Errno.Success;
            }

            for (ulong page = first; page <= last; page++)
            {
                _pages.Remove(page);
            }
        }

        return Errno.Success;
    }

    public bool TryTranslate(ulong iova, out ulong physicalAddress, out IommuProtection protection) =>
        TryTranslate(iova, write: false, out physicalAddress, out protection);

    /// <summary>
    /// A DMA's translation: a write through a writable entry while tracking is on sets the entry's dirty bit, as an
    /// IOMMU with hardware dirty tracking does when it walks the table for a write.
    /// </summary>
    public bool TryTranslate(ulong iova, bool write, out ulong physicalAddress, out IommuProtection protection)
    {
        lock (_lock)
        {
            if (_pages.TryGetValue(iova >> IoPageShift, out var pte))
            {
                if (write && _tracking && (pte.Protection & IommuProtection.Write) != 0 && !pte.Dirty)
                {
                    _pages[iova >> IoPageShift] = pte with { Dirty = true };
                }

                physicalAddress = pte.PhysicalAddress + (iova & PageMask);
                protection = pte.Protection;
                return true;
            }
        }

        physicalAddress = 0;
        protection = IommuProtection.None;
        return false;
    }

    /// <summary>selftest.c mock_domain_set_dirty_tracking(): turning it on without dirty ops is EINVAL.</summary>
    public Errno SetDirtyTracking(bool enable)
    {
        if (enable && !_hasDirtyOps)
        {
            return Errno.EINVAL;
        }

        lock (_lock)
        {
            _tracking = enable;
        }

        return Errno.Success;
    }

    /// <summary>
    /// selftest.c mock_domain_read_and_clear_dirty(): with a bitmap and tracking off EINVAL; else each mapped page
    /// (a whole huge page for a huge entry) that has a dirty entry is recorded and, unless
    /// <paramref name="noClear"/>, its entries are cleaned (mock_test_and_clear_dirty()).
    /// </summary>
    public Errno ReadAndClearDirty(ulong iova, ulong length, bool noClear, ref DirtyBitmap bitmap)
    {
        lock (_lock)
        {
            if (!_tracking && bitmap.IsRecording)
            {
                return Errno.EINVAL;
            }

            ulong end = iova + length;
            do
            {
                if (!_pages.TryGetValue(iova >> IoPageShift, out var pte))
                {
                    iova += IoPageSize;
                    continue;
                }

                ulong size = pte.Huge ? HugePageSize : IoPageSize;
                ulong head = iova & ~(size - 1);
                if (TestAndClearLocked(head, size, noClear))
                {
                    bitmap.Record(head, size);
                }

                iova = head + size;
            }
            while (iova < end);
        }

        return Errno.Success;
    }

    /// <summary>IOMMU_TEST_OP_DIRTY's set_dirty(): sets the dirty bit of the entry under <paramref name="iova"/>, if mapped.</summary>
    public void MarkDirty(ulong iova)
    {
        lock (_lock)
        {
            if (_pages.TryGetValue(iova >> IoPageShift, out var pte))
            {
                _pages[iova >> IoPageShift] = pte with { Dirty = true };
            }
        }
    }

    /// <summary>Whether dirty tracking is on (MOCK_DIRTY_TRACK).</summary>
    public bool IsTracking
    {
        get
        {
            lock (_lock)
            {
                return _tracking;
            }
        }
    }

    public void Free()
    {
        lock (_lock)
        {
            if (_freed)
            {
                throw new InvalidOperationException("a mock paging domain was freed twice");
            }

            _freed = true;
            _pages.Clear();
        }

        _iommu.DomainFreed();
    }

    /// <summary>selftest.c mock_test_and_clear_dirty(): whether an entry of [head, +size) is dirty, cleaning them.</summary>
    private bool TestAndClearLocked(ulong head, ulong size, bool noClear)
    {
        bool dirty = false;
        for (ulong page = head >> IoPageShift, last = (head + size - 1) >> IoPageShift; page <= last; page++)
        {
            if (_pages.TryGetValue(page, out var pte) && pte.Dirty)
            {
                dirty = true;
                if (!noClear)
                {
                    _pages[page] = pte with { Dirty = false };
                }
            }
        }

        return dirty;
    }

    /// <summary>One page-table entry: MOCK_PFN_DIRTY_IOVA and MOCK_PFN_HUGE_IOVA are its flags.</summary>
    private readonly record struct Pte(ulong PhysicalAddress, IommuProtection Protection, bool Dirty = false, bool Huge = false);
}
