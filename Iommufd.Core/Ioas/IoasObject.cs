using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Ioas;

/// <summary>
/// An I/O address space: IOVA → user memory mappings, the allowed and reserved IOVA ranges, and the paging domains
/// that mirror it (the kernel's <c>struct iommufd_ioas</c> with its <c>io_pagetable</c>).
/// </summary>
internal sealed class IoasObject : IommufdObject
{
    /// <summary>The IOVA alignment every mapping follows.</summary>
    public const ulong IovaAlignment = PhysicalMemory.PageSize;

    private readonly UserMemory _memory;

    // Guards _areas, _allowed and _domains. Domain map/unmap calls run under it so that a domain never misses a
    // mapping; drivers must not call back into the IOAS.
    private readonly Lock _lock = new();
    private readonly SortedList<ulong, IovaArea> _areas = [];
    private readonly List<IPagingDomain> _domains = [];
    private IommuIovaRange[] _allowed = [];

    private readonly Diagnostics.FailNth? _faults;

    public IoasObject(UserMemory memory, Diagnostics.FailNth? faults = null)
    {
        _memory = memory;
        _faults = faults;
    }

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

    /// <summary>IOMMU_IOAS_MAP: maps user memory at a fixed or an allocated IOVA.</summary>
    public Errno Map(ulong userVa, ulong length, IommuProtection protection, bool fixedIova, ref ulong iova)
    {
        if (length == 0 || (userVa & (PhysicalMemory.PageSize - 1)) != 0 || (length & (PhysicalMemory.PageSize - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        if (userVa + length - 1 < userVa || (fixedIova && iova + length - 1 < iova))
        {
            return Errno.EOVERFLOW;
        }

        if (!_memory.TryFind(userVa, length, out var region, out ulong offset))
        {
            return Errno.EFAULT;
        }

        var rc = MapRegion(region, offset, length, protection, fixedIova, ref iova);
        _memory.ReleaseIfUnused(region); // a region pinned only for this call goes when the map failed
        return rc;
    }

    private Errno MapRegion(UserRegion region, ulong offset, ulong length, IommuProtection protection, bool fixedIova, ref ulong iova)
    {
        lock (_lock)
        {
            if (fixedIova)
            {
                if ((iova & (IovaAlignment - 1)) != 0)
                {
                    return Errno.EINVAL;
                }

                var check = CheckIova(iova, length);
                if (check != Errno.Success)
                {
                    return check;
                }
            }
            else if (!TryAllocateIova(length, out iova))
            {
                return Errno.ENOSPC;
            }

            if (_faults?.ShouldFail() == true)
            {
                return Errno.ENOMEM; // the area's allocation
            }

            return AddArea(new IovaArea(iova, length, region, offset, protection));
        }
    }

    /// <summary>IOMMU_IOAS_COPY: maps the pages behind [srcIova, +length) of <paramref name="source"/> here too.</summary>
    public Errno CopyFrom(IoasObject source, ulong srcIova, ulong length, IommuProtection protection, bool fixedIova, ref ulong dstIova)
    {
        if (length == 0)
        {
            return Errno.EINVAL;
        }

        if (srcIova + length - 1 < srcIova || (fixedIova && dstIova + length - 1 < dstIova))
        {
            return Errno.EOVERFLOW;
        }

        // Take what the source maps first; the source and destination may be the same IOAS.
        List<IovaArea> pieces;
        lock (source._lock)
        {
            var found = source.FindCovering(srcIova, length, out pieces);
            if (found != Errno.Success)
            {
                return found;
            }
        }

        lock (_lock)
        {
            if (fixedIova)
            {
                var check = (dstIova & (IovaAlignment - 1)) != 0 ? Errno.EINVAL : CheckIova(dstIova, length);
                if (check != Errno.Success)
                {
                    return check;
                }
            }
            else if (!TryAllocateIova(length, out dstIova))
            {
                return Errno.ENOSPC;
            }

            var added = new List<IovaArea>();
            foreach (var piece in pieces)
            {
                var area = new IovaArea(dstIova + (piece.Iova - srcIova), piece.Length, piece.Region, piece.RegionOffset, protection);
                var rc = AddArea(area);
                if (rc != Errno.Success)
                {
                    foreach (var a in added)
                    {
                        RemoveArea(a);
                    }

                    return rc;
                }

                added.Add(area);
            }

            return Errno.Success;
        }
    }

    /// <summary>
    /// IOMMU_IOAS_UNMAP. Every mapping touched must lie wholly inside the range (no splitting), a range with
    /// pinned pages is EBUSY, and a range with nothing mapped is ENOENT. The all-of-it form (0, U64_MAX)
    /// succeeds on an empty IOAS.
    /// </summary>
    public Errno Unmap(ulong iova, ulong length, out ulong unmapped)
    {
        unmapped = 0;
        bool all = iova == 0 && length == ulong.MaxValue;
        if (!all)
        {
            if (length == 0)
            {
                return Errno.EINVAL;
            }

            if (iova + length - 1 < iova)
            {
                return Errno.EOVERFLOW;
            }
        }

        ulong last = all ? ulong.MaxValue : iova + length - 1;
        lock (_lock)
        {
            var victims = new List<IovaArea>();
            var areas = _areas.Values;
            for (int i = FirstEndingAtOrAfter(iova); i < areas.Count && areas[i].Iova <= last; i++)
            {
                var area = areas[i];
                if (area.Iova < iova || area.Last > last)
                {
                    return Errno.ENOENT;
                }

                if (area.Pins > 0)
                {
                    return Errno.EBUSY;
                }

                victims.Add(area);
            }

            if (victims.Count == 0)
            {
                return all ? Errno.Success : Errno.ENOENT;
            }

            foreach (var area in victims)
            {
                var rc = RemoveArea(area);
                if (rc != Errno.Success)
                {
                    return rc; // the areas before it are unmapped (reported in unmapped); this one and the rest stay
                }

                unmapped += area.Length;
            }

            return Errno.Success;
        }
    }

    /// <summary>IOMMU_IOAS_IOVA_RANGES: the usable IOVA ranges (allowed minus reserved), lowest first.</summary>
    public List<IommuIovaRange> GetUsableRanges()
    {
        lock (_lock)
        {
            var usable = new List<IommuIovaRange>();
            var allowed = _allowed.Length > 0 ? _allowed : [new IommuIovaRange { Start = 0, Last = ulong.MaxValue }];
            foreach (var range in allowed.OrderBy(r => r.Start))
            {
                ulong start = range.Start;
                ulong last = range.Last;
                foreach (var domain in _domains)
                {
                    start = Math.Max(start, domain.ApertureStart);
                    last = Math.Min(last, domain.ApertureLast);
                }

                if (start <= last)
                {
                    usable.Add(new IommuIovaRange { Start = start, Last = last });
                }
            }

            return usable;
        }
    }

    /// <summary>IOMMU_IOAS_ALLOW_IOVAS: replaces the allowed list. Existing mappings must stay inside it.</summary>
    public Errno SetAllowedRanges(ReadOnlySpan<IommuIovaRange> ranges)
    {
        foreach (var r in ranges)
        {
            if (r.Start > r.Last)
            {
                return Errno.EINVAL;
            }
        }

        var copy = ranges.ToArray();
        lock (_lock)
        {
            if (copy.Length > 0)
            {
                foreach (var area in _areas.Values)
                {
                    if (!Array.Exists(copy, r => r.Start <= area.Iova && area.Last <= r.Last))
                    {
                        return Errno.EADDRINUSE;
                    }
                }
            }

            _allowed = copy;
            return Errno.Success;
        }
    }

    /// <summary>
    /// Adds a paging domain that mirrors this IOAS: every mapping is mapped into it. A mapping outside the
    /// domain's aperture is EADDRINUSE (the aperture becomes reserved IOVA space).
    /// </summary>
    public Errno AddDomain(IPagingDomain domain)
    {
        lock (_lock)
        {
            foreach (var area in _areas.Values)
            {
                if (area.Iova < domain.ApertureStart || area.Last > domain.ApertureLast)
                {
                    return Errno.EADDRINUSE;
                }
            }

            var mapped = new List<IovaArea>();
            foreach (var area in _areas.Values)
            {
                var rc = MapInto(domain, area);
                if (rc != Errno.Success)
                {
                    foreach (var m in mapped)
                    {
                        domain.Unmap(m.Iova, m.Length);
                    }

                    return rc;
                }

                mapped.Add(area);
            }

            _domains.Add(domain);
            return Errno.Success;
        }
    }

    /// <summary>Removes a domain added by <see cref="AddDomain"/> and unmaps everything from it.</summary>
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
            }
        }
    }

    /// <summary>
    /// Pins [<paramref name="iova"/>, +<paramref name="length"/>) for a HW queue: the pages (rounded out to whole
    /// pages) must be mapped (else ENOENT) and physically contiguous (else EFAULT). Returns the physical address
    /// of <paramref name="iova"/> and a handle that unpins.
    /// </summary>
    public Errno PinContiguous(ulong iova, ulong length, out ulong physicalAddress, out IoasPin pin)
    {
        physicalAddress = 0;
        pin = null!;
        ulong first = iova & ~(ulong)(PhysicalMemory.PageSize - 1);
        ulong end = (iova + length + PhysicalMemory.PageSize - 1) & ~(ulong)(PhysicalMemory.PageSize - 1);
        lock (_lock)
        {
            var found = FindCovering(first, end - first, out var pieces, requireWholeAreas: false);
            if (found != Errno.Success)
            {
                return Errno.ENOENT;
            }

            ulong basePa = pieces[0].PhysicalAddressOf(first);
            for (ulong page = first; page < end; page += PhysicalMemory.PageSize)
            {
                var area = pieces.First(a => a.Iova <= page && page <= a.Last);
                if (area.PhysicalAddressOf(page) != basePa + (page - first))
                {
                    return Errno.EFAULT;
                }
            }

            foreach (var area in pieces)
            {
                area.Pins++;
            }

            physicalAddress = basePa + (iova - first);
            long pages = (long)((end - first) / PhysicalMemory.PageSize);
            pin = new IoasPin(this, pieces, pages);
            IommufdMetrics.Pinned(pages); // a HW queue's pages count as pinned on their own (iopt_pin_pages)
            return Errno.Success;
        }
    }

    /// <summary>The physical address behind <paramref name="iova"/>, if mapped.</summary>
    public bool TryTranslate(ulong iova, out ulong physicalAddress, out IommuProtection protection)
    {
        lock (_lock)
        {
            var area = FindArea(iova);
            if (area is null)
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

    internal void Unpin(List<IovaArea> pieces, long pages)
    {
        lock (_lock)
        {
            foreach (var area in pieces)
            {
                area.Pins--;
            }
        }

        IommufdMetrics.Pinned(-pages);
    }

    internal override void Destroy()
    {
        lock (_lock)
        {
            if (_domains.Count > 0)
            {
                throw new InvalidOperationException("an IOAS with domains was destroyed");
            }

            foreach (var area in _areas.Values.ToList())
            {
                RemoveArea(area);
            }
        }
    }

    private Errno CheckIova(ulong iova, ulong length)
    {
        ulong last = iova + length - 1;
        if (_allowed.Length > 0 && !Array.Exists(_allowed, r => r.Start <= iova && last <= r.Last))
        {
            return Errno.EINVAL;
        }

        foreach (var domain in _domains)
        {
            if (iova < domain.ApertureStart || last > domain.ApertureLast)
            {
                return Errno.EINVAL;
            }
        }

        int first = FirstEndingAtOrAfter(iova);
        return first < _areas.Count && _areas.Values[first].Iova <= last ? Errno.EEXIST : Errno.Success;
    }

    private bool TryAllocateIova(ulong length, out ulong iova)
    {
        foreach (var range in GetUsableRangesLocked())
        {
            // The areas are sorted and disjoint: find the first that can block once, then walk on from it (each
            // blocker moves the candidate past itself, so no area is looked at twice).
            ulong candidate = AlignUp(range.Start);
            var areas = _areas.Values;
            int next = FirstEndingAtOrAfter(candidate);
            while (candidate >= range.Start && candidate <= range.Last && range.Last - candidate >= length - 1)
            {
                ulong last = candidate + length - 1;
                while (next < areas.Count && areas[next].Last < candidate)
                {
                    next++;
                }

                if (next == areas.Count || areas[next].Iova > last)
                {
                    iova = candidate;
                    return true;
                }

                var blocker = areas[next];
                if (blocker.Last == ulong.MaxValue)
                {
                    break;
                }

                candidate = AlignUp(blocker.Last + 1);
            }
        }

        iova = 0;
        return false;
    }

    private List<IommuIovaRange> GetUsableRangesLocked() => GetUsableRanges(); // the lock is re-entrant

    private static ulong AlignUp(ulong value) =>
        value > ulong.MaxValue - (IovaAlignment - 1) ? ulong.MaxValue : (value + IovaAlignment - 1) & ~(IovaAlignment - 1);

    private Errno AddArea(IovaArea area)
    {
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

                return rc;
            }

            mapped.Add(domain);
        }

        area.Region.Pin();
        IommufdMetrics.Pinned((long)(area.Length / PhysicalMemory.PageSize));
        _areas.Add(area.Iova, area);
        return Errno.Success;
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
        area.Region.Unpin();
        IommufdMetrics.Pinned(-(long)(area.Length / PhysicalMemory.PageSize));
        _memory.ReleaseIfUnused(area.Region);
        return Errno.Success;
    }

    private static Errno MapInto(IPagingDomain domain, IovaArea area)
    {
        ulong done = 0;
        while (done < area.Length)
        {
            ulong run = area.Region.ContiguousLengthAt(area.RegionOffset + done, area.Length - done);
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

    private IovaArea? FindArea(ulong iova)
    {
        int i = FirstEndingAtOrAfter(iova);
        return i < _areas.Count && _areas.Values[i].Iova <= iova ? _areas.Values[i] : null;
    }

    /// <summary>
    /// Binary search: the index of the first area whose last byte is at or after <paramref name="iova"/> (the
    /// count when there is none). Areas are disjoint and sorted by start, so their ends are sorted too; the first
    /// area that can overlap anything from <paramref name="iova"/> on is this one.
    /// </summary>
    private int FirstEndingAtOrAfter(ulong iova)
    {
        var areas = _areas.Values;
        int lo = 0, hi = areas.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (areas[mid].Last < iova)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>
    /// The areas that together cover [iova, +length) without a gap. With <paramref name="requireWholeAreas"/>
    /// each must also lie wholly inside the range (IOAS_COPY cannot split a mapping).
    /// </summary>
    private Errno FindCovering(ulong iova, ulong length, out List<IovaArea> pieces, bool requireWholeAreas = true)
    {
        pieces = [];
        ulong last = iova + length - 1;
        ulong cursor = iova;
        while (true)
        {
            var area = FindArea(cursor);
            if (area is null || (requireWholeAreas && (area.Iova < iova || area.Last > last)))
            {
                return Errno.ENOENT;
            }

            pieces.Add(area);
            if (area.Last >= last)
            {
                return Errno.Success;
            }

            cursor = area.Last + 1;
        }
    }
}
