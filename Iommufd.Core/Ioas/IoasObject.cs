using System.Numerics;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Ioas;

/// <summary>
/// An I/O address space: IOVA → user memory mappings (areas), the allowed and reserved IOVA ranges, the IOVA
/// alignment and the paging domains that mirror it — the kernel's <c>struct iommufd_ioas</c> with its
/// <c>io_pagetable</c> (drivers/iommu/iommufd/io_pagetable.c).
/// </summary>
internal sealed class IoasObject : IommufdObject
{
    /// <summary>
    /// The largest alignment the IOVA allocator keeps from the user address (HPAGE_SIZE with transparent huge pages,
    /// io_pagetable.c iopt_alloc_iova()).
    /// </summary>
    public const ulong HugePageSize = 2UL << 20;

    private readonly UserMemory _memory;

    // Guards _areas, _allowed, _reserved, _domains, _accesses, _iovaAlignment and _disableLargePages (the kernel's
    // iova_rwsem and domains_rwsem in one). Domain map/unmap calls run under it so that a domain never misses a mapping;
    // drivers must not call back into the IOAS.
    private readonly Lock _lock = new();
    private readonly SortedList<ulong, IovaArea> _areas = [];
    private readonly List<IPagingDomain> _domains = [];
    private readonly List<ReservedRange> _reserved = [];
    private readonly List<IoasAccess> _accesses = []; // the access_list, for the unmap notification
    private IommuIovaRange[] _allowed = [];
    private ulong _iovaAlignment = 1; // io_pagetable.c iopt_init_table(): a table with no domain has no restriction
    private bool _disableLargePages;

    private readonly Diagnostics.FailNth? _faults;
    private readonly IommufdMetrics? _metrics;

    private readonly bool _accountMm;

    /// <summary>
    /// An IOAS of the file whose process is <paramref name="memory"/>; with <paramref name="accountMm"/> (the file's
    /// IOMMU_OPTION_RLIMIT_MODE, fixed once it holds an object) pins are charged to the process, else to its user.
    /// </summary>
    public IoasObject(UserMemory memory, Diagnostics.FailNth? faults = null, IommufdMetrics? metrics = null, bool accountMm = false)
    {
        _memory = memory;
        _faults = faults;
        _metrics = metrics;
        _accountMm = accountMm;
    }

    /// <summary>
    /// The charging of pages mapped now (pages.c iopt_alloc_pages(): none with CAP_IPC_LOCK; io_pagetable.c
    /// iopt_map_common(): the process's mm when the file's RLIMIT_MODE says so).
    /// </summary>
    private PinAccounting NewPagesAccounting =>
        _memory.CapIpcLock ? PinAccounting.None : _accountMm ? PinAccounting.Mm : PinAccounting.User;

    public override IommufdObjectType Type => IommufdObjectType.Ioas;

    /// <summary>Number of mappings (for tests).</summary>
    public int AreaCount
    {
        get
        {
            lock (_lock)
            {
                return _areas.Count;
            }
        }
    }

    /// <summary>True when an area maps user memory rather than a file (IOAS_CHANGE_PROCESS cannot move it).</summary>
    public bool MapsUserMemory
    {
        get
        {
            lock (_lock)
            {
                return _areas.Values.Any(a => a.Pages.File is null);
            }
        }
    }

    /// <summary>
    /// The alignment every IOVA, length and page offset follows: 1 with no domain, else the smallest page of the
    /// attached domain with the largest one, and at least a CPU page with huge pages off (io_pagetable.c
    /// iopt_calculate_iova_alignment()).
    /// </summary>
    public ulong IovaAlignment
    {
        get
        {
            lock (_lock)
            {
                return _iovaAlignment;
            }
        }
    }

    /// <summary>IOMMU_OPTION_HUGE_PAGES as IOMMU_OPTION_OP_GET reads it.</summary>
    public bool HugePages
    {
        get
        {
            lock (_lock)
            {
                return !_disableLargePages;
            }
        }
    }

    /// <summary>The page sizes every attached domain supports (all bits with none); vfio_compat.c iommufd_get_pagesizes().</summary>
    public ulong DomainPageSizes
    {
        get
        {
            lock (_lock)
            {
                ulong sizes = ulong.MaxValue;
                foreach (var domain in _domains)
                {
                    sizes &= domain.PageSizeBitmap;
                }

                return sizes;
            }
        }
    }

    /// <summary>Paging domains attached (the kernel's hwpt_list of the IOAS).</summary>
    public int DomainCount
    {
        get
        {
            lock (_lock)
            {
                return _domains.Count;
            }
        }
    }

    /// <summary>
    /// IOMMU_IOAS_MAP after the ioctl's own checks: maps user memory at a fixed or an allocated IOVA, checked in the
    /// order of pages.c iopt_alloc_user_pages() and io_pagetable.c iopt_alloc_area_pages() / iopt_insert_area(),
    /// the user pages last: they are looked up and pinned when a domain is filled (EFAULT), so with no domain a map
    /// of memory the process does not have succeeds and the failure comes when a domain arrives.
    /// </summary>
    public Errno Map(ulong userVa, ulong length, IommuProtection protection, bool fixedIova, ref ulong iova)
    {
        if (userVa + length < userVa)
        {
            return Errno.EOVERFLOW;
        }

        if (length == 0 || length > ulong.MaxValue - PhysicalMemory.PageSize)
        {
            return Errno.EINVAL;
        }

        return MapCommon(new IoasPages(userVa, length, (protection & IommuProtection.Write) != 0, NewPagesAccounting) { Metrics = _metrics }, protection, fixedIova, ref iova);
    }

    /// <summary>
    /// IOMMU_IOAS_MAP_FILE after the ioctl's checks and the fd (io_pagetable.c iopt_map_file_pages()): maps
    /// [<paramref name="start"/>, +<paramref name="length"/>) of <paramref name="file"/> as <see cref="Map"/> maps user
    /// memory, the file offset guiding the allocator. The file's pages are looked up when a domain needs them: a range
    /// past the end of the file is EINVAL then.
    /// </summary>
    public Errno MapFile(IMappedFile file, ulong start, ulong length, IommuProtection protection, bool fixedIova, ref ulong iova)
    {
        if (length > ulong.MaxValue - PhysicalMemory.PageSize)
        {
            return Refusal.Because(Errno.EINVAL, $"length 0x{length:x} is too large for a page count"); // pages.c iopt_alloc_pages()
        }

        return MapCommon(new IoasPages(file, start, length, (protection & IommuProtection.Write) != 0, NewPagesAccounting) { Metrics = _metrics }, protection, fixedIova, ref iova);
    }

    /// <summary>io_pagetable.c iopt_map_common(): one area over all of <paramref name="pages"/>.</summary>
    private Errno MapCommon(IoasPages pages, IommuProtection protection, bool fixedIova, ref ulong iova)
    {
        lock (_lock)
        {
            var rc = PlaceLocked(pages.UserVa, pages.Length, fixedIova, ref iova);
            if (rc != Errno.Success)
            {
                return rc;
            }

            if (_faults?.ShouldFail() == true)
            {
                return Errno.ENOMEM; // the area's allocation
            }

            return AddArea(new IovaArea(iova, pages.Length, pages, 0, protection));
        }
    }

    /// <summary>
    /// IOMMU_IOAS_COPY, source side (io_pagetable.c iopt_get_pages()): the slices of the areas behind
    /// [iova, +length). The range may start and end inside areas; it must be mapped without a gap (ENOENT).
    /// </summary>
    public Errno GetPages(ulong iova, ulong length, out List<IovaArea> slices)
    {
        slices = [];
        if (length == 0)
        {
            return Refusal.Because(Errno.EINVAL, $"length 0");
        }

        if (iova + (length - 1) < iova)
        {
            return Refusal.Because(Errno.EOVERFLOW, $"src_iova 0x{iova:x} + length 0x{length:x} wraps");
        }

        lock (_lock)
        {
            return TryGetSlices(iova, length, out slices) ? Errno.Success
                : Refusal.Because(Errno.ENOENT, $"[0x{iova:x}, + 0x{length:x}) is not mapped without a gap in the source IOAS");
        }
    }

    /// <summary>
    /// IOMMU_IOAS_COPY, destination side (io_pagetable.c iopt_map_pages()): maps slices taken by
    /// <see cref="GetPages"/> back to back at a fixed or an allocated IOVA; the first slice's user address guides
    /// the allocator.
    /// </summary>
    public Errno MapPages(List<IovaArea> pieces, ulong length, IommuProtection protection, bool fixedIova, ref ulong dstIova)
    {
        lock (_lock)
        {
            var rc = PlaceLocked(pieces[0].UserVa, length, fixedIova, ref dstIova);
            if (rc != Errno.Success)
            {
                return rc;
            }

            var added = new List<IovaArea>();
            ulong iova = dstIova;
            foreach (var piece in pieces)
            {
                // iopt_insert_area(): write access needs writable pages; the slice's page offset follows the alignment.
                var area = new IovaArea(iova, piece.Length, piece.Pages, piece.StartByte, protection);
                rc = (protection & IommuProtection.Write) != 0 && !piece.Pages.Writable
                    ? Refusal.Because(Errno.EPERM, $"WRITEABLE asked of pages at user 0x{piece.UserVa:x} that were mapped read-only")
                    : (piece.UserVa & (PhysicalMemory.PageSize - 1) & (_iovaAlignment - 1)) != 0
                    ? Refusal.Because(Errno.EINVAL, $"the pages at user 0x{piece.UserVa:x} are offset into their page off the destination's alignment {_iovaAlignment}")
                    : AddArea(area);
                if (rc != Errno.Success)
                {
                    foreach (var a in added)
                    {
                        RemoveArea(a);
                    }

                    return rc;
                }

                added.Add(area);
                iova += piece.Length;
            }

            return Errno.Success;
        }
    }

    /// <summary>
    /// IOMMU_IOAS_UNMAP of [iova, last] after the ioctl's own checks (io_pagetable.c iopt_unmap_iova_range()): the
    /// areas are taken lowest first, and each must lie wholly inside the range and be unlocked. The first that is not
    /// stops the unmap (ENOENT for one that the range cuts, EBUSY for one a HW queue pinned) with every area before it
    /// already unmapped; <paramref name="unmapped"/> counts those bytes either way. An area that accesses pinned is
    /// closed to new access pins, every access is told to unmap it (iommufd_access_notify_unmap(), outside the lock)
    /// and the unmap tries again; after <see cref="UnmapTries"/> tries on one area that still has pins, EDEADLK.
    /// </summary>
    public Errno Unmap(ulong iova, ulong last, out ulong unmapped)
    {
        unmapped = 0;
        int tries = 0;
        while (true)
        {
            IoasAccess[] notify;
            ulong first, length;
            lock (_lock)
            {
                var rc = UnmapLocked(ref iova, last, ref unmapped, ref tries, out var busy);
                if (busy is null)
                {
                    return rc;
                }

                busy.PreventAccess = true;
                (notify, first, length) = ([.. _accesses], busy.Iova, busy.Length);
            }

            foreach (var access in notify)
            {
                access.NotifyUnmap(first, length);
            }

            if (++tries > UnmapTries)
            {
                return Refusal.Because(Errno.EDEADLK, $"the accesses pinning [0x{first:x}, +0x{length:x}) do not let go");
            }
        }
    }

    /// <summary>How often iopt_unmap_iova_range() notifies the accesses of one area before it gives up (EDEADLOCK).</summary>
    public const int UnmapTries = 100;

    /// <summary>
    /// One pass of <see cref="Unmap"/>; <paramref name="busy"/> is the area accesses still pin, where the pass stopped.
    /// </summary>
    private Errno UnmapLocked(ref ulong iova, ulong last, ref ulong unmapped, ref int tries, out IovaArea? busy)
    {
        busy = null;
        while (FirstAreaIn(iova, last) is { } area)
        {
            if (area.Pins > 0)
            {
                return Refusal.Because(Errno.EBUSY, $"the mapping at [0x{area.Iova:x}, 0x{area.Last:x}] is pinned by a HW queue");
            }

            if (area.Iova < iova || area.Last > last)
            {
                return Refusal.Because(Errno.ENOENT, $"[0x{iova:x}, 0x{last:x}] cuts the mapping at [0x{area.Iova:x}, 0x{area.Last:x}]");
            }

            if (area.Iova != iova)
            {
                tries = 0; // a new area: its own count of tries
            }

            if (area.Accesses > 0)
            {
                iova = area.Iova;
                busy = area;
                return Errno.Success;
            }

            var rc = RemoveArea(area);
            if (rc != Errno.Success)
            {
                return rc; // this area and the rest stay
            }

            unmapped += area.Length;
        }

        return Errno.Success;
    }

    /// <summary>iopt_add_access() / iopt_remove_access(): the accesses an unmap notifies.</summary>
    internal void AddAccess(IoasAccess access)
    {
        lock (_lock)
        {
            _accesses.Add(access);
        }
    }

    internal void RemoveAccess(IoasAccess access)
    {
        lock (_lock)
        {
            _accesses.Remove(access);
        }
    }

    /// <summary>
    /// device.c iommufd_access_pin_pages() on this IOAS: length 0 is EINVAL, a range that wraps EOVERFLOW; then the
    /// areas from <paramref name="iova"/> on are walked in IOVA order as iopt_for_each_contig_area() does, each one an
    /// unmap is emptying or whose part of the range is not whole CPU pages EINVAL, each one without the protection the pin asks for EPERM (check_area_prot(): WRITEABLE
    /// for a write pin, READABLE otherwise), each one whose memory the process does not have EFAULT, the first of these
    /// answering; a walk that meets a hole or ends before the range does ENOENT. What the walk pinned before the error
    /// is let go again (err_remove). Returns the areas pinned and the physical address of each CPU page of the range.
    /// </summary>
    public Errno PinForAccess(ulong iova, ulong length, bool write, out List<IovaArea> areas, out ulong[] pages)
    {
        areas = [];
        pages = [];
        if (length == 0)
        {
            return Errno.EINVAL;
        }

        if (iova + (length - 1) < iova)
        {
            return Errno.EOVERFLOW;
        }

        lock (_lock)
        {
            ulong last = iova + (length - 1);
            var rc = PinInOrderLocked(iova, last, write ? IommuProtection.Write : IommuProtection.Read, out var covering);
            if (rc != Errno.Success)
            {
                return rc;
            }

            const ulong pageMask = PhysicalMemory.PageSize - 1;
            ulong firstPage = iova & ~pageMask;
            ulong lastPage = (iova + (length - 1)) & ~pageMask;
            pages = new ulong[(lastPage - firstPage) / PhysicalMemory.PageSize + 1];
            for (int i = 0; i < pages.Length; i++)
            {
                ulong at = Math.Max(iova, firstPage + (ulong)i * PhysicalMemory.PageSize);
                var area = covering.First(a => a.Iova <= at && at <= a.Last);
                pages[i] = area.PhysicalAddressOf(at) & ~pageMask;
            }

            foreach (var area in covering)
            {
                area.Accesses++;
            }

            areas = covering;
            return Errno.Success;
        }
    }

    /// <summary>
    /// device.c iommufd_access_pin_pages(), for an access and for a HW queue alike: walks the areas over
    /// [<paramref name="iova"/>, <paramref name="last"/>] from the lowest IOVA until a hole
    /// (io_pagetable.c iopt_area_contig_next()) and, area by area, refuses one an unmap is emptying or whose part is
    /// not whole CPU pages (EINVAL, iopt_area_contig_is_aligned()), then one without <paramref name="need"/> (EPERM,
    /// check_area_prot()), then pins its part (pages.c iopt_area_add_access()); a hole or a walk that stops short is
    /// ENOENT once the walk ends. Any refusal lets go of what the walk pinned before it (err_remove).
    /// </summary>
    private Errno PinInOrderLocked(ulong iova, ulong last, IommuProtection need, out List<IovaArea> covering)
    {
        // TryFindCovering() gives the areas the walk reaches, also when a hole stops it.
        bool reachesEnd = TryFindCovering(iova, last - iova + 1, out covering);
        for (int i = 0; i < covering.Count; i++)
        {
            var area = covering[i];
            var (startByte, sliceLength) = area.Slice(iova, last);
            var rc = area.PreventAccess || !IsPageAligned(area, Math.Max(iova, area.Iova), last) ? Errno.EINVAL
                : (area.Protection & need) == 0 ? Errno.EPERM
                : area.Pages.TryPin(_memory, startByte, sliceLength);
            if (rc != Errno.Success)
            {
                UnpinSlicesLocked(covering[..i], iova, last);
                return rc;
            }
        }

        if (!reachesEnd)
        {
            UnpinSlicesLocked(covering, iova, last);
            return Errno.ENOENT;
        }

        return Errno.Success;
    }

    /// <summary>
    /// device.c iopt_area_contig_is_aligned(): the walk's part of <paramref name="area"/> from <paramref name="from"/>
    /// starts on a CPU page of its pages and, unless the area reaches <paramref name="last"/>, ends on one, so that
    /// the pages handed out are whole pages.
    /// </summary>
    private static bool IsPageAligned(IovaArea area, ulong from, ulong last)
    {
        const ulong pageMask = PhysicalMemory.PageSize - 1;
        return ((area.UserVa + (from - area.Iova)) & pageMask) == 0
            && (area.Last >= last || ((area.UserVa + (area.Last - area.Iova)) & pageMask) == pageMask);
    }

    /// <summary>
    /// device.c iommufd_access_unpin_pages(): drops the pins <see cref="PinForAccess"/> took on
    /// [<paramref name="iova"/>, +<paramref name="length"/>).
    /// </summary>
    public void UnpinForAccess(List<IovaArea> areas, ulong iova, ulong length)
    {
        lock (_lock)
        {
            foreach (var area in areas)
            {
                area.Accesses--;
            }

            UnpinSlicesLocked(areas, iova, iova + (length - 1));
        }
    }

    /// <summary>pages.c iopt_area_remove_access(): gives back what <see cref="PinInOrderLocked"/> pinned.</summary>
    private void UnpinSlicesLocked(List<IovaArea> areas, ulong first, ulong last)
    {
        foreach (var area in areas)
        {
            var (startByte, length) = area.Slice(first, last);
            area.Pages.Unpin(_memory, startByte, length);
        }
    }

    /// <summary>
    /// VFIO type1 unmap inside a mapping (io_pagetable.c iopt_cut_iova()): each IOVA an area covers becomes the last
    /// byte of an area, so a later unmap may start or end there. The first split refused stops the cut, the splits
    /// before it kept.
    /// </summary>
    public Errno Cut(ReadOnlySpan<ulong> iovas)
    {
        lock (_lock)
        {
            foreach (ulong iova in iovas)
            {
                if (FindArea(iova) is { } area)
                {
                    var rc = SplitLocked(area, iova);
                    if (rc != Errno.Success)
                    {
                        return rc;
                    }
                }
            }

            return Errno.Success;
        }
    }

    /// <summary>
    /// IOMMU_IOAS_IOVA_RANGES: the holes between reserved ranges, lowest first (ioas.c iommufd_ioas_iova_ranges()).
    /// Allowed ranges do not show here; they only steer the allocator.
    /// </summary>
    public List<IommuIovaRange> GetUsableRanges()
    {
        lock (_lock)
        {
            var holes = new List<IommuIovaRange>();
            ulong cursor = 0;
            foreach (var (start, last) in MergedReservedLocked())
            {
                if (start > cursor)
                {
                    holes.Add(new IommuIovaRange { Start = cursor, Last = start - 1 });
                }

                if (last == ulong.MaxValue)
                {
                    return holes;
                }

                cursor = Math.Max(cursor, last + 1);
            }

            holes.Add(new IommuIovaRange { Start = cursor, Last = ulong.MaxValue });
            return holes;
        }
    }

    /// <summary>
    /// IOMMU_IOAS_ALLOW_IOVAS: loads the new list in order — each range must have start &lt; last and not overlap
    /// one loaded before it (EINVAL); <paramref name="count"/> ranges are asked for, and one past
    /// <paramref name="ranges"/> is a fault (EFAULT) — then swaps it in unless an allowed range meets a reserved one
    /// (EADDRINUSE). Existing areas are not checked (ioas.c iommufd_ioas_load_iovas(), io_pagetable.c
    /// iopt_set_allow_iova()).
    /// </summary>
    public Errno SetAllowedRanges(ReadOnlySpan<IommuIovaRange> ranges, uint count)
    {
        var loaded = new List<IommuIovaRange>();
        for (uint i = 0; i < count; i++)
        {
            if (i >= ranges.Length)
            {
                return Refusal.Because(Errno.EFAULT, $"allowed_iovas[{i}] is outside the caller's memory");
            }

            var r = ranges[(int)i];
            if (r.Start >= r.Last || loaded.Exists(l => l.Start <= r.Last && r.Start <= l.Last))
            {
                return Refusal.Because(Errno.EINVAL, $"allowed_iovas[{i}] [0x{r.Start:x}, 0x{r.Last:x}] is empty or overlaps one before it");
            }

            loaded.Add(r);
        }

        loaded.Sort((a, b) => a.Start.CompareTo(b.Start));
        lock (_lock)
        {
            foreach (var r in loaded)
            {
                if (_reserved.Exists(x => x.Start <= r.Last && r.Start <= x.Last))
                {
                    return Refusal.Because(Errno.EADDRINUSE, $"allowed range [0x{r.Start:x}, 0x{r.Last:x}] meets a reserved range");
                }
            }

            _allowed = [.. loaded];
            return Errno.Success;
        }
    }

    /// <summary>
    /// Reserves [start, last] for <paramref name="owner"/> (null: the selftest's IOMMU_TEST_OP_ADD_RESERVED). A range
    /// that meets an area or an allowed range is EADDRINUSE (io_pagetable.c iopt_reserve_iova()).
    /// </summary>
    public Errno Reserve(ulong start, ulong last, object? owner)
    {
        lock (_lock)
        {
            return ReserveLocked(start, last, owner);
        }
    }

    /// <summary>
    /// IOMMU_OPTION_HUGE_PAGES set. Turning them off is EINVAL once a domain holds mappings, and EADDRINUSE when an
    /// area does not follow the CPU page alignment it brings (io_pagetable.c iopt_disable_large_pages(),
    /// iopt_enable_large_pages()).
    /// </summary>
    public Errno SetHugePages(bool enable)
    {
        lock (_lock)
        {
            if (enable)
            {
                _disableLargePages = false;
                RecalculateAlignmentLocked();
                return Errno.Success;
            }

            if (_disableLargePages)
            {
                return Errno.Success;
            }

            if (_domains.Count > 0 && _areas.Count > 0)
            {
                return Refusal.Because(Errno.EINVAL, $"huge pages cannot be turned off once a domain holds mappings");
            }

            _disableLargePages = true;
            var rc = RecalculateAlignmentLocked();
            if (rc != Errno.Success)
            {
                _disableLargePages = false;
            }

            return rc;
        }
    }

    /// <summary>
    /// Adds a paging domain that mirrors this IOAS (io_pagetable.c iopt_table_add_domain()): its smallest page may
    /// raise the IOVA alignment (above a CPU page EINVAL; an area it misaligns EADDRINUSE), what lies outside its
    /// aperture becomes reserved (an area or allowed range there: EADDRINUSE), then every area's pages are pinned
    /// (EFAULT for memory the process no longer has, iopt_fill_domain()) and mapped into it. Nothing changes on
    /// failure.
    /// </summary>
    public Errno AddDomain(IPagingDomain domain)
    {
        lock (_lock)
        {
            ulong alignment = Math.Max(MinimumPage(domain), _iovaAlignment);
            if (alignment > PhysicalMemory.PageSize)
            {
                return Errno.EINVAL;
            }

            if (alignment != _iovaAlignment && !AreasFollowLocked(alignment))
            {
                return Errno.EADDRINUSE;
            }

            var rc = domain.ApertureStart != 0 ? ReserveLocked(0, domain.ApertureStart - 1, domain) : Errno.Success;
            if (rc == Errno.Success && domain.ApertureLast != ulong.MaxValue)
            {
                rc = ReserveLocked(domain.ApertureLast + 1, ulong.MaxValue, domain);
            }

            var mapped = new List<IovaArea>();
            var pinned = new List<IovaArea>();
            for (int i = 0; rc == Errno.Success && i < _areas.Count; i++)
            {
                var area = _areas.Values[i];
                bool wasPinned = area.Pinned;
                rc = PinLocked(area);
                if (rc == Errno.Success && !wasPinned)
                {
                    pinned.Add(area);
                }

                rc = rc == Errno.Success ? MapInto(domain, area) : rc;
                if (rc == Errno.Success)
                {
                    mapped.Add(area);
                }
            }

            if (rc != Errno.Success)
            {
                foreach (var m in mapped)
                {
                    domain.Unmap(m.Iova, m.Length);
                }

                foreach (var p in pinned)
                {
                    UnpinLocked(p);
                }

                _reserved.RemoveAll(r => r.Owner == domain);
                return rc;
            }

            _iovaAlignment = alignment;
            _domains.Add(domain);
            return Errno.Success;
        }
    }

    /// <summary>
    /// Removes a domain added by <see cref="AddDomain"/>: unmaps everything from it, drops the ranges it reserved
    /// and recomputes the alignment (io_pagetable.c iopt_table_remove_domain()). With the last domain the areas let
    /// their pages go (iopt_unfill_domain(): iopt_area_unfill_domain() unpins what no access holds).
    /// </summary>
    public void RemoveDomain(IPagingDomain domain)
    {
        lock (_lock)
        {
            if (!_domains.Remove(domain))
            {
                throw new InvalidOperationException("the domain does not mirror this IOAS");
            }

            foreach (var area in _areas.Values)
            {
                domain.Unmap(area.Iova, area.Length);
                if (_domains.Count == 0)
                {
                    UnpinLocked(area);
                }
            }

            _reserved.RemoveAll(r => r.Owner == domain);
            RecalculateAlignmentLocked();
        }
    }

    /// <summary>
    /// Pins [<paramref name="iova"/>, +<paramref name="length"/>) for a HW queue: the pages (rounded out to whole
    /// pages) must be mapped (else ENOENT), whole pages an unmap is not emptying (else EINVAL), READABLE (else EPERM)
    /// and physically contiguous (else EFAULT), the areas checked in IOVA order by <see cref="PinInOrderLocked"/> so
    /// that the first problem decides. Returns the physical address of <paramref name="iova"/> and a handle that
    /// unpins.
    /// </summary>
    public Errno PinContiguous(ulong iova, ulong length, out ulong physicalAddress, out IoasPin pin)
    {
        physicalAddress = 0;
        pin = null!;
        ulong first = iova & ~(ulong)(PhysicalMemory.PageSize - 1);
        ulong end = (iova + length + PhysicalMemory.PageSize - 1) & ~(ulong)(PhysicalMemory.PageSize - 1);
        lock (_lock)
        {
            // viommu.c iommufd_hw_queue_alloc_phys() pins through iommufd_access_pin_pages() with flags 0: READABLE.
            var rc = PinInOrderLocked(first, end - 1, IommuProtection.Read, out var pieces);
            if (rc != Errno.Success)
            {
                return rc;
            }

            ulong basePa = pieces[0].PhysicalAddressOf(first);
            for (ulong page = first; page < end; page += PhysicalMemory.PageSize)
            {
                var area = pieces.First(a => a.Iova <= page && page <= a.Last);
                if (area.PhysicalAddressOf(page) != basePa + (page - first))
                {
                    UnpinSlicesLocked(pieces, first, end - 1);
                    return Errno.EFAULT;
                }
            }

            foreach (var area in pieces)
            {
                area.Pins++;
            }

            physicalAddress = basePa + (iova - first);
            pin = new IoasPin(this, pieces, first, end - 1); // the pages it pins are charged once, as pages.c counts npinned
            return Errno.Success;
        }
    }

    /// <summary>
    /// Adds the pins this IOAS holds on the CPU page at <paramref name="userPage"/>: one per page set not in
    /// <paramref name="seen"/> yet whose area covers the page and is held by a domain or a HW queue (pages.c pins a
    /// page set's pages when it fills a domain or an access; without either the map is only a lazy reference).
    /// </summary>
    public int CountPins(ulong userPage, HashSet<object> seen)
    {
        lock (_lock)
        {
            int pins = 0;
            foreach (var area in _areas.Values)
            {
                if ((_domains.Count > 0 || area.Pins > 0 || area.Accesses > 0) && area.Pages.File is null && area.UserVa < userPage + PhysicalMemory.PageSize
                    && userPage < area.UserVa + area.Length && seen.Add(area.Pages))
                {
                    pins++;
                }
            }

            return pins;
        }
    }

    /// <summary>
    /// device.c iommufd_access_rw() for an access on this IOAS: the checks of <see cref="ISelftestAccess.ReadWrite"/>,
    /// area by area from the lowest (a write stops at the first area mapped without WRITEABLE, the bytes before it
    /// written). Pages no domain pinned are pinned for the copy only (pages.c iopt_pages_rw_access()).
    /// </summary>
    public Errno AccessReadWrite(ulong iova, Span<byte> data, bool write)
    {
        if (data.IsEmpty)
        {
            return Errno.EINVAL;
        }

        ulong last = iova + ((ulong)data.Length - 1);
        if (last < iova)
        {
            return Errno.EOVERFLOW;
        }

        lock (_lock)
        {
            ulong cursor = iova;
            int done = 0;
            while (done < data.Length)
            {
                if (FindArea(cursor) is not { } area)
                {
                    return Errno.ENOENT;
                }

                if (write && (area.Protection & IommuProtection.Write) == 0)
                {
                    return Errno.EPERM;
                }

                var rc = area.Pages.TryPin(_memory, area.StartByte, area.Length, charged: false); // pages.c iopt_pages_rw_slow(): pinned for the copy only
                if (rc != Errno.Success)
                {
                    return rc;
                }

                int run = (int)Math.Min((ulong)(data.Length - done), area.Last - cursor + 1);
                var bytes = area.Region.Slice(area.RegionOffset + (cursor - area.Iova), run);
                if (write)
                {
                    data.Slice(done, run).CopyTo(bytes);
                }
                else
                {
                    bytes.CopyTo(data.Slice(done, run));
                }

                area.Pages.Unpin(_memory, area.StartByte, area.Length, charged: false);

                done += run;
                cursor += (ulong)run;
            }

            return Errno.Success;
        }
    }

    /// <summary>
    /// io_pagetable.c iopt_set_dirty_tracking() for a domain that mirrors this IOAS: turning tracking on first clears
    /// the dirty bits of every area (iopt_clear_dirty_data()), so that the first bitmap shows only writes made after.
    /// </summary>
    public Errno SetDirtyTracking(IDirtyTracking ops, bool enable)
    {
        lock (_lock)
        {
            if (enable)
            {
                var none = default(DirtyBitmap);
                foreach (var area in _areas.Values)
                {
                    var rc = ops.ReadAndClearDirty(area.Iova, area.Length, noClear: false, ref none);
                    if (rc != Errno.Success)
                    {
                        return rc;
                    }
                }
            }

            return ops.SetDirtyTracking(enable);
        }
    }

    /// <summary>
    /// io_pagetable.c __iommu_read_and_clear_dirty(): the driver reads [iova, last] area by area from the lowest; the
    /// range must be mapped without a gap (EINVAL, with the areas before the gap already read).
    /// </summary>
    public Errno ReadAndClearDirty(IDirtyTracking ops, ulong iova, ulong last, bool noClear, ref DirtyBitmap bitmap)
    {
        lock (_lock)
        {
            ulong cursor = iova;
            while (FindArea(cursor) is { } area)
            {
                ulong end = Math.Min(last, area.Last);
                var rc = ops.ReadAndClearDirty(cursor, end - cursor + 1, noClear, ref bitmap);
                if (rc != Errno.Success || end == last)
                {
                    return rc;
                }

                cursor = end + 1;
            }

            return Refusal.Because(Errno.EINVAL, $"[0x{iova:x}, 0x{last:x}] is not mapped without a gap (at 0x{cursor:x})");
        }
    }

    /// <summary>The physical address behind <paramref name="iova"/>, if mapped.</summary>
    public bool TryTranslate(ulong iova, out ulong physicalAddress, out IommuProtection protection)
    {
        lock (_lock)
        {
            var area = FindArea(iova);
            if (area is null || !area.Pinned)
            {
                physicalAddress = 0;
                protection = IommuProtection.None;
                return false;
            }

            physicalAddress = area.PhysicalAddressOf(iova);
            protection = area.Protection;
            return true;
        }
    }

    internal void Unpin(List<IovaArea> pieces, ulong first, ulong last)
    {
        lock (_lock)
        {
            foreach (var area in pieces)
            {
                area.Pins--;
            }

            UnpinSlicesLocked(pieces, first, last);
        }
    }

    internal override void Destroy()
    {
        lock (_lock)
        {
            if (_domains.Count > 0)
            {
                throw new InvalidOperationException("an IOAS with domains was destroyed");
            }

            while (_areas.Count > 0)
            {
                RemoveArea(_areas.Values[^1]);
            }

            _reserved.Clear();
        }
    }

    /// <summary>
    /// Finds the IOVA of a new area of <paramref name="length"/> bytes whose pages start at user address
    /// <paramref name="userVa"/>: checks a fixed one, or allocates one (io_pagetable.c iopt_alloc_area_pages()).
    /// </summary>
    private Errno PlaceLocked(ulong userVa, ulong length, bool fixedIova, ref ulong iova)
    {
        if ((length & (_iovaAlignment - 1)) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"length 0x{length:x} is not aligned to the IOAS's {_iovaAlignment}");
        }

        var rc = fixedIova ? CheckIovaLocked(iova, length) : AllocateIovaLocked(userVa, length, out iova);
        if (rc != Errno.Success)
        {
            return rc;
        }

        // iopt_insert_area(): the area's offset into its first CPU page follows the alignment too.
        return (userVa & (PhysicalMemory.PageSize - 1) & (_iovaAlignment - 1)) != 0
            ? Refusal.Because(Errno.EINVAL, $"user_va 0x{userVa:x} is offset into its page by other than a multiple of the IOAS's {_iovaAlignment}")
            : Errno.Success;
    }

    /// <summary>A fixed IOVA (io_pagetable.c iopt_check_iova()). Allowed ranges do not constrain it.</summary>
    private Errno CheckIovaLocked(ulong iova, ulong length)
    {
        if ((iova & (_iovaAlignment - 1)) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"iova 0x{iova:x} is not aligned to the IOAS's {_iovaAlignment}");
        }

        ulong last = iova + (length - 1);
        if (last < iova)
        {
            return Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} + length 0x{length:x} wraps");
        }

        if (_reserved.Exists(r => r.Start <= last && iova <= r.Last))
        {
            return Refusal.Because(Errno.EINVAL, $"[0x{iova:x}, 0x{last:x}] overlaps a reserved range");
        }

        return FirstAreaIn(iova, last) is { } area
            ? Refusal.Because(Errno.EEXIST, $"[0x{iova:x}, 0x{last:x}] overlaps the mapping at [0x{area.Iova:x}, 0x{area.Last:x}]")
            : Errno.Success;
    }

    /// <summary>
    /// The kernel's IOVA allocator (io_pagetable.c iopt_alloc_iova()): the alignment is the length rounded up to a
    /// power of two, lowered to the alignment of the user address and capped at <see cref="HugePageSize"/>; the
    /// user address's offset into its page is kept. The first fitting hole between reserved ranges and areas wins,
    /// searched inside the allowed ranges (all of [PAGE_SIZE, U64_MAX − PAGE_SIZE] when none is set), lowest first,
    /// so IOVA 0 is never handed out.
    /// </summary>
    private Errno AllocateIovaLocked(ulong userVa, ulong length, out ulong iova)
    {
        iova = 0;
        if (length == 0 || length >= ulong.MaxValue / 2)
        {
            return Errno.EOVERFLOW;
        }

        ulong alignment = BitOperations.RoundUpToPowerOf2(length);
        if (userVa != 0)
        {
            alignment = Math.Min(alignment, 1UL << BitOperations.TrailingZeroCount(userVa));
        }

        alignment = Math.Min(alignment, HugePageSize);
        if (alignment < _iovaAlignment)
        {
            return Errno.EINVAL;
        }

        ulong pageOffset = userVa & (PhysicalMemory.PageSize - 1);
        foreach (var (spanStart, spanLast) in AllowedSpansLocked(PhysicalMemory.PageSize, ulong.MaxValue - PhysicalMemory.PageSize))
        {
            ulong start = spanStart;
            if (!FitsAligned(ref start, spanLast, length, alignment, pageOffset))
            {
                continue;
            }

            foreach (var (holeFirst, holeLast) in HolesLocked(start, spanLast))
            {
                ulong holeStart = holeFirst;
                if (FitsAligned(ref holeStart, holeLast, length, alignment, pageOffset))
                {
                    iova = holeStart;
                    return Errno.Success;
                }
            }
        }

        return Errno.ENOSPC;
    }

    /// <summary>
    /// io_pagetable.c __alloc_iova_check_range(): aligns <paramref name="start"/> up, adds the page offset, and
    /// answers whether <paramref name="length"/> bytes fit before <paramref name="last"/>.
    /// </summary>
    private static bool FitsAligned(ref ulong start, ulong last, ulong length, ulong alignment, ulong pageOffset)
    {
        if (start > ulong.MaxValue - (alignment - 1))
        {
            return false;
        }

        ulong aligned = ((start + alignment - 1) & ~(alignment - 1)) | pageOffset;
        if (aligned >= last || last - aligned < length - 1)
        {
            return false;
        }

        start = aligned;
        return true;
    }

    /// <summary>
    /// The holes in [first, last] between reserved ranges and areas, lowest first (the unused spans of
    /// interval_tree_for_each_double_span over the reserved and area trees).
    /// </summary>
    private List<(ulong Start, ulong Last)> HolesLocked(ulong first, ulong last)
    {
        var holes = new List<(ulong Start, ulong Last)>();
        ulong cursor = first;
        foreach (var (usedStart, usedLast) in UsedSpansLocked(first, last))
        {
            if (usedStart > cursor)
            {
                holes.Add((cursor, usedStart - 1));
            }

            if (usedLast >= last)
            {
                return holes;
            }

            cursor = Math.Max(cursor, usedLast + 1);
        }

        holes.Add((cursor, last));
        return holes;
    }

    /// <summary>The allowed ranges merged into spans and clipped to [first, last]; the whole window when none is set.</summary>
    private List<(ulong Start, ulong Last)> AllowedSpansLocked(ulong first, ulong last)
    {
        if (_allowed.Length == 0)
        {
            return [(first, last)];
        }

        var spans = new List<(ulong Start, ulong Last)>();
        foreach (var (start, end) in Merge(_allowed.Select(r => (r.Start, r.Last))))
        {
            if (end >= first && start <= last)
            {
                spans.Add((Math.Max(start, first), Math.Min(end, last)));
            }
        }

        return spans;
    }

    /// <summary>Reserved ranges and areas that meet [first, last], merged, lowest first.</summary>
    private List<(ulong Start, ulong Last)> UsedSpansLocked(ulong first, ulong last)
    {
        var used = new List<(ulong Start, ulong Last)>();
        foreach (var r in _reserved)
        {
            if (r.Last >= first && r.Start <= last)
            {
                used.Add((r.Start, r.Last));
            }
        }

        for (int i = FirstAreaIndexFrom(first); i < _areas.Count && _areas.Values[i].Iova <= last; i++)
        {
            used.Add((_areas.Values[i].Iova, _areas.Values[i].Last));
        }

        return Merge(used);
    }

    private List<(ulong Start, ulong Last)> MergedReservedLocked() => Merge(_reserved.Select(r => (r.Start, r.Last)));

    /// <summary>Sorts ranges and merges the ones that overlap or touch (what interval_tree_span_iter sees as one span).</summary>
    private static List<(ulong Start, ulong Last)> Merge(IEnumerable<(ulong Start, ulong Last)> ranges)
    {
        var merged = new List<(ulong Start, ulong Last)>();
        foreach (var (start, last) in ranges.OrderBy(r => r.Start))
        {
            if (merged.Count > 0 && (merged[^1].Last == ulong.MaxValue || start <= merged[^1].Last + 1))
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].Last, last));
            }
            else
            {
                merged.Add((start, last));
            }
        }

        return merged;
    }

    private Errno ReserveLocked(ulong start, ulong last, object? owner)
    {
        if (FirstAreaIn(start, last) is not null || Array.Exists(_allowed, r => r.Start <= last && start <= r.Last))
        {
            return Errno.EADDRINUSE;
        }

        _reserved.Add(new ReservedRange(start, last, owner));
        return Errno.Success;
    }

    /// <summary>io_pagetable.c iopt_calculate_iova_alignment(); an increase that an area does not follow is EADDRINUSE.</summary>
    private Errno RecalculateAlignmentLocked()
    {
        ulong alignment = _disableLargePages ? PhysicalMemory.PageSize : 1UL;
        foreach (var domain in _domains)
        {
            alignment = Math.Max(alignment, MinimumPage(domain));
        }

        if (alignment > _iovaAlignment && !AreasFollowLocked(alignment))
        {
            return Errno.EADDRINUSE;
        }

        _iovaAlignment = alignment;
        return Errno.Success;
    }

    /// <summary>io_pagetable.c iopt_check_iova_alignment(): every area's IOVA, length and page offset are aligned.</summary>
    private bool AreasFollowLocked(ulong alignment)
    {
        ulong mask = alignment - 1;
        foreach (var area in _areas.Values)
        {
            if (((area.Iova | area.Length | (area.UserVa & (PhysicalMemory.PageSize - 1))) & mask) != 0)
            {
                return false;
            }
        }

        return true;
    }

    private static ulong MinimumPage(IPagingDomain domain) => domain.PageSizeBitmap & (0 - domain.PageSizeBitmap);

    private Errno AddArea(IovaArea area)
    {
        var pinned = _domains.Count > 0 ? PinLocked(area) : Errno.Success;
        if (pinned != Errno.Success)
        {
            return pinned; // pages.c: filling the domains pins the pages
        }

        var mapped = new List<IPagingDomain>();
        foreach (var domain in _domains)
        {
            var rc = MapInto(domain, area);
            if (rc != Errno.Success)
            {
                foreach (var d in mapped)
                {
                    d.Unmap(area.Iova, area.Length);
                }

                UnpinLocked(area);
                return rc;
            }

            mapped.Add(domain);
        }

        _areas.Add(area.Iova, area);
        area.Pages.AreaChanged(added: true);
        return Errno.Success;
    }

    /// <summary>Pins the area's pages, once (EFAULT when the process does not have the memory).</summary>
    private Errno PinLocked(IovaArea area)
    {
        if (area.Pinned)
        {
            return Errno.Success;
        }

        var rc = area.Pages.TryPin(_memory, area.StartByte, area.Length);
        if (rc != Errno.Success)
        {
            return rc;
        }

        area.Pinned = true;
        return Errno.Success;
    }

    private void UnpinLocked(IovaArea area)
    {
        if (area.Pinned)
        {
            area.Pinned = false;
            area.Pages.Unpin(_memory, area.StartByte, area.Length);
        }
    }

    /// <summary>
    /// Unmaps an area from every domain and unpins it. When a domain could not complete its invalidation, a device
    /// may still reach the pages: the area stays (pinned, still in the IOAS) and the errno is returned; a later
    /// unmap tries again.
    /// </summary>
    private Errno RemoveArea(IovaArea area)
    {
        var rc = Errno.Success;
        foreach (var domain in _domains)
        {
            var unmapped = domain.Unmap(area.Iova, area.Length);
            rc = rc == Errno.Success ? unmapped : rc;
        }

        if (rc != Errno.Success)
        {
            return rc;
        }

        _areas.Remove(area.Iova);
        UnpinLocked(area);
        area.Pages.AreaChanged(added: false);
        return Errno.Success;
    }

    /// <summary>
    /// io_pagetable.c iopt_area_split(): <paramref name="iova"/> ends the left half. Checked in its order: an end of
    /// the area needs no split; the new start and its user address must follow the alignment (EINVAL); the
    /// allocation (ENOMEM); no access or HW queue may pin the area and no domain may hold it with huge pages on
    /// (EINVAL). The halves share the page set and stay mapped in every domain as they were.
    /// </summary>
    private Errno SplitLocked(IovaArea area, ulong iova)
    {
        if (iova == area.Iova || iova == area.Last)
        {
            return Errno.Success;
        }

        ulong leftLength = iova - area.Iova + 1;
        if (((iova + 1) & (_iovaAlignment - 1)) != 0 || ((area.UserVa + leftLength) & (_iovaAlignment - 1)) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"0x{iova + 1:x} cannot start a mapping at the IOAS's alignment {_iovaAlignment}");
        }

        if (_faults?.ShouldFail() == true)
        {
            return Errno.ENOMEM;
        }

        if (area.Pins > 0 || area.Accesses > 0 || (_domains.Count > 0 && !_disableLargePages))
        {
            return Refusal.Because(Errno.EINVAL, $"the mapping at [0x{area.Iova:x}, 0x{area.Last:x}] cannot be split: {(area.Pins > 0 || area.Accesses > 0 ? "an access or HW queue pins it" : "a domain may hold it in huge pages")}");
        }

        var left = new IovaArea(area.Iova, leftLength, area.Pages, area.StartByte, area.Protection);
        var right = new IovaArea(iova + 1, area.Length - leftLength, area.Pages, area.StartByte + leftLength, area.Protection);
        if (area.Pinned)
        {
            // Two pins where there was one, over the same pages: nothing to look up or charge, so neither can fail.
            area.Pages.TryPin(_memory, left.StartByte, left.Length);
            area.Pages.TryPin(_memory, right.StartByte, right.Length);
            area.Pages.Unpin(_memory, area.StartByte, area.Length);
            left.Pinned = right.Pinned = true;
        }

        _areas.Remove(area.Iova);
        _areas.Add(left.Iova, left);
        _areas.Add(right.Iova, right);
        area.Pages.AreaChanged(added: true); // two areas where there was one
        return Errno.Success;
    }

    /// <summary>
    /// Maps an area into a domain, each physically contiguous run in one call so that the driver may use its large
    /// pages; with huge pages off, one CPU page a call, so that it cannot (pages.c batch_iommu_map_small()). Called
    /// with the IOAS lock held.
    /// </summary>
    private Errno MapInto(IPagingDomain domain, IovaArea area)
    {
        ulong done = 0;
        while (done < area.Length)
        {
            ulong run = area.Region.ContiguousLengthAt(area.RegionOffset + done, area.Length - done);
            if (_disableLargePages)
            {
                ulong page = PhysicalMemory.PageSize;
                run = Math.Min(run, page - ((area.Iova + done) & (page - 1)));
            }

            var rc = domain.Map(area.Iova + done, area.Region.PhysicalAddressAt(area.RegionOffset + done), run, area.Protection);
            if (rc != Errno.Success)
            {
                if (done > 0)
                {
                    domain.Unmap(area.Iova, done);
                }

                return rc;
            }

            done += run;
        }

        return Errno.Success;
    }

    /// <summary>Index of the first area that ends at or after <paramref name="iova"/> (areas never overlap).</summary>
    private int FirstAreaIndexFrom(ulong iova)
    {
        var keys = _areas.Keys;
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] <= iova)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo > 0 && _areas.Values[lo - 1].Last >= iova ? lo - 1 : lo;
    }

    /// <summary>The lowest area that meets [first, last] (io_pagetable.c iopt_area_iter_first()).</summary>
    private IovaArea? FirstAreaIn(ulong first, ulong last)
    {
        int i = FirstAreaIndexFrom(first);
        return i < _areas.Count && _areas.Values[i].Iova <= last ? _areas.Values[i] : null;
    }

    private IovaArea? FindArea(ulong iova) => FirstAreaIn(iova, iova);

    /// <summary>The areas that together cover [iova, +length) without a gap (io_pagetable.c iopt_area_contig_init()).</summary>
    private bool TryFindCovering(ulong iova, ulong length, out List<IovaArea> areas)
    {
        areas = [];
        ulong last = iova + (length - 1);
        ulong cursor = iova;
        while (FindArea(cursor) is { } area)
        {
            areas.Add(area);
            if (area.Last >= last)
            {
                return true;
            }

            cursor = area.Last + 1;
        }

        return false;
    }

    /// <summary>
    /// The slices of the areas that cover [iova, +length) (io_pagetable.c iopt_get_pages()): each keeps its
    /// area's pages, writability and protection, cut to the range.
    /// </summary>
    private bool TryGetSlices(ulong iova, ulong length, out List<IovaArea> slices)
    {
        slices = [];
        if (!TryFindCovering(iova, length, out var areas))
        {
            return false;
        }

        ulong last = iova + (length - 1);
        ulong cursor = iova;
        foreach (var area in areas)
        {
            ulong end = Math.Min(last, area.Last);
            slices.Add(new IovaArea(cursor, end - cursor + 1, area.Pages, area.StartByte + (cursor - area.Iova), area.Protection));
            cursor = end + 1;
        }

        return true;
    }

    /// <summary>A reserved IOVA range and who reserved it (a domain's aperture, or null for the selftest's ADD_RESERVED).</summary>
    private readonly record struct ReservedRange(ulong Start, ulong Last, object? Owner);
}
