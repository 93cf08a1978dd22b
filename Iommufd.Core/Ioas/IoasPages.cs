using Iommufd.Core.Diagnostics;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Ioas;

/// <summary>
/// The user pages one IOAS_MAP took, shared by every IOAS_COPY of them (the kernel's <c>struct iopt_pages</c>). They
/// are looked up lazily (pages.c): not at map time when no domain needs them, but when a domain, a HW queue or an
/// access first does — which is where a range that is not (or no longer) mapped in the process fails with EFAULT.
/// </summary>
internal sealed class IoasPages
{
    // Guards Region, RegionOffset, _pinnedAreas, _areas, _charged and _chargedPages: copies put one page set in
    // several IOASes, each under its own lock.
    private readonly Lock _lock = new();
    private readonly List<(ulong First, ulong Last)> _charged = []; // the page indexes of each charged pin
    private int _pinnedAreas;
    private int _areas;
    private ulong _chargedPages; // the pages the charged pins cover together (npinned == last_npinned)

    public IoasPages(ulong userVa, ulong length, bool writable, PinAccounting accounting)
    {
        UserVa = userVa;
        Length = length;
        Writable = writable;
        Accounting = accounting;
    }

    /// <summary>The pages of [<paramref name="start"/>, +<paramref name="length"/>) of a memory file (IOPT_ADDRESS_FILE).</summary>
    public IoasPages(IMappedFile file, ulong start, ulong length, bool writable, PinAccounting accounting)
        : this(start, length, writable, accounting)
    {
        File = file;
    }

    /// <summary>Where the change of <see cref="ChargedPages"/> is reported (the pinned-pages gauge), if anywhere.</summary>
    public IommufdMetrics? Metrics { get; init; }

    /// <summary>Where pins of these pages are charged, fixed when they were mapped (<c>iopt_pages.account_mode</c>).</summary>
    public PinAccounting Accounting { get; }

    /// <summary>The pages of the set charged to the process or its user now (<c>npinned</c>).</summary>
    public ulong ChargedPages
    {
        get
        {
            lock (_lock)
            {
                return _chargedPages;
            }
        }
    }

    /// <summary>
    /// The user address of the first byte; for a file's pages its offset in the file, which stands in for the user
    /// address wherever the kernel takes either (io_pagetable.c iopt_alloc_area_pages() guides the IOVA allocator with it).
    /// </summary>
    public ulong UserVa { get; }

    /// <summary>The memory file the pages come from, or null for user memory.</summary>
    public IMappedFile? File { get; }

    public ulong Length { get; }

    /// <summary>Whether the pages may be written: set by the IOAS_MAP that took them (<c>iopt_pages.writable</c>).</summary>
    public bool Writable { get; }

    /// <summary>The user memory behind the pages while an area pins them; null otherwise.</summary>
    public UserRegion? Region { get; private set; }

    /// <summary>The offset of <see cref="UserVa"/> in <see cref="Region"/>.</summary>
    public ulong RegionOffset { get; private set; }

    /// <summary>
    /// Pins the pages for one more area, looking them up (whole CPU pages, as pin_user_pages() takes them) when no
    /// area pins them yet: EFAULT when the process does not have the memory, EINVAL for a file's pages past its end.
    /// A <paramref name="charged"/> pin of the slice [<paramref name="startByte"/>, +<paramref name="length"/>) charges
    /// the pages of it no other charged pin covers to the process or its user (ENOMEM past RLIMIT_MEMLOCK, pages.c
    /// pfn_reader_user_update_pinned()); a copy pinned only for the length of a read or write is not charged, as
    /// iopt_pages_rw_slow() unpins before it updates the count.
    /// </summary>
    public Errno TryPin(UserMemory memory, ulong startByte, ulong length, bool charged = true)
    {
        lock (_lock)
        {
            UserRegion? found = null;
            if (_pinnedAreas == 0)
            {
                ulong first = UserVa & ~((ulong)PhysicalMemory.PageSize - 1);
                ulong end = (UserVa + Length + PhysicalMemory.PageSize - 1) & ~((ulong)PhysicalMemory.PageSize - 1);
                UserRegion region;
                ulong offset;
                if (File is not null)
                {
                    // pages.c pin_memfd_pages(): memfd_pin_folios() of the file's range.
                    var rc = File.TryGetPages(first, end - first, out region, out offset);
                    if (rc != Errno.Success)
                    {
                        return Refusal.Because(rc, $"the file range [0x{first:x}, 0x{end:x}) reaches past the end of {File.Name} ({File.Size} bytes)");
                    }
                }
                else if (end <= first || !memory.TryFindForPin(first, end - first, Writable, out region, out offset))
                {
                    // pages.c pfn_reader_user_pin(): pin_user_pages_fast() with FOLL_WRITE for writable pages.
                    return Refusal.Because(Errno.EFAULT, $"user memory [0x{first:x}, 0x{end:x}) is not mapped{(Writable ? " writable" : string.Empty)} in the process");
                }

                found = region;
                Region = region;
                RegionOffset = offset + (UserVa - first);
            }

            if (charged)
            {
                _charged.Add(PageIndexes(startByte, length));
                ulong covered = CoveredLocked();
                var rc = covered > _chargedPages ? memory.ChargePinned(covered - _chargedPages, Accounting) : Errno.Success;
                if (rc != Errno.Success)
                {
                    _charged.RemoveAt(_charged.Count - 1);
                    if (found is not null)
                    {
                        Region = null; // the error unwind unpins what it just pinned
                        RegionOffset = 0;
                        memory.ReleaseIfUnused(found);
                    }

                    return rc;
                }

                Metrics?.Pinned((long)(covered - _chargedPages));
                _chargedPages = covered;
            }

            Region!.Pin();
            _pinnedAreas++;
            return Errno.Success;
        }
    }

    /// <summary>
    /// An area of some IOAS took (<paramref name="added"/>) or gave back a slice of these pages. The first area takes
    /// a reference on the file and the last drops it (the iopt_pages kref), after the area has unpinned.
    /// </summary>
    public void AreaChanged(bool added)
    {
        bool first, last;
        lock (_lock)
        {
            first = added && _areas++ == 0;
            last = !added && --_areas == 0;
        }

        if (first)
        {
            File?.AddRef();
        }
        else if (last)
        {
            File?.Release();
        }
    }

    /// <summary>
    /// Drops one area's pin. With the last, the region is released if the process unmapped it, and forgotten, so
    /// that a later pin looks the range up again (the kernel pins from the mm anew).
    /// </summary>
    public void Unpin(UserMemory memory, ulong startByte, ulong length, bool charged = true)
    {
        lock (_lock)
        {
            if (charged)
            {
                _charged.Remove(PageIndexes(startByte, length));
                ulong covered = CoveredLocked();
                if (covered < _chargedPages)
                {
                    memory.UnchargePinned(_chargedPages - covered, Accounting); // update_unpinned()
                }

                Metrics?.Pinned(-(long)(_chargedPages - covered));
                _chargedPages = covered;
            }

            var region = Region!;
            region.Unpin();
            if (--_pinnedAreas == 0)
            {
                memory.ReleaseIfUnused(region);
                Region = null;
                RegionOffset = 0;
            }
        }
    }

    /// <summary>The first and last page index of a slice (iopt_area_index(), iopt_area_last_index()).</summary>
    private (ulong First, ulong Last) PageIndexes(ulong startByte, ulong length)
    {
        ulong offset = (UserVa & (PhysicalMemory.PageSize - 1)) + startByte;
        return (offset / PhysicalMemory.PageSize, (offset + Math.Max(length, 1) - 1) / PhysicalMemory.PageSize);
    }

    /// <summary>How many page indexes the charged pins cover together.</summary>
    private ulong CoveredLocked()
    {
        _charged.Sort();
        ulong pages = 0, next = 0;
        foreach (var (first, last) in _charged)
        {
            ulong from = Math.Max(first, next);
            if (last >= from)
            {
                pages += last - from + 1;
                next = last + 1;
            }
        }

        return pages;
    }
}
