using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// A mock paging domain: a software page table of MOCK_IO_PAGE_SIZE (half a CPU page, selftest.c) pages, IOVA → (physical address, protection), over the
/// mock aperture [MOCK_APERTURE_START, MOCK_APERTURE_LAST] (iommufd_test.h). The core mirrors an IOAS into it with
/// <see cref="Map"/> and <see cref="Unmap"/>; DMA and HW-queue checks read it with <see cref="TryTranslate"/>.
/// </summary>
/// <remarks>
/// The kernel's newest mock uses the generic_pt AMDv1 format (selftest.c); a flat map gives the same answers for the
/// questions iommufd asks (iova_to_phys, map, unmap) without modelling page-table memory.
/// </remarks>
internal sealed class MockPagingDomain : IPagingDomain
{
    /// <summary>MOCK_IO_PAGE_SIZE (selftest.c): half a CPU page, so an IOAS with a mock domain aligns IOVAs to 2 KiB.</summary>
    public const ulong IoPageSize = PhysicalMemory.PageSize / 2;

    private const int IoPageShift = PhysicalMemory.PageShift - 1;
    private const ulong PageMask = IoPageSize - 1;

    private readonly MockIommu _iommu;

    // Guards _pages and _freed. Map, Unmap and TryTranslate may race: the core maps under its IOAS lock while
    // devices translate DMA on their own threads.
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Pte> _pages = [];
    private bool _freed;

    public MockPagingDomain(MockIommu iommu, bool isNestParent)
    {
        _iommu = iommu;
        IsNestParent = isNestParent;
        iommu.DomainAllocated();
    }

    public IIommuInstance Iommu => _iommu;

    public ulong ApertureStart => SelftestConstants.MockApertureStart;

    public ulong ApertureLast => SelftestConstants.MockApertureLast;

    public bool IsNestParent { get; }

    /// <summary>mock_domain_alloc_paging(): pgsize_bitmap is MOCK_IO_PAGE_SIZE.</summary>
    public ulong PageSizeBitmap => IoPageSize;

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

            for (ulong i = 0; i < count; i++)
            {
                _pages.Add(first + i, new Pte(physicalAddress + (i << IoPageShift), protection));
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

    public bool TryTranslate(ulong iova, out ulong physicalAddress, out IommuProtection protection)
    {
        lock (_lock)
        {
            if (_pages.TryGetValue(iova >> IoPageShift, out var pte))
            {
                physicalAddress = pte.PhysicalAddress + (iova & PageMask);
                protection = pte.Protection;
                return true;
            }
        }

        physicalAddress = 0;
        protection = IommuProtection.None;
        return false;
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

    /// <summary>One page-table entry.</summary>
    private readonly record struct Pte(ulong PhysicalAddress, IommuProtection Protection);
}
