using Iommufd.Core.Memory;

namespace Iommufd.Core.Ioas;

/// <summary>
/// The user pages one IOAS_MAP took, shared by every IOAS_COPY of them (the kernel's <c>struct iopt_pages</c>). They
/// are looked up lazily (pages.c): not at map time when no domain needs them, but when a domain, a HW queue or an
/// access first does — which is where a range that is not (or no longer) mapped in the process fails with EFAULT.
/// </summary>
internal sealed class IoasPages
{
    // Guards Region, RegionOffset and _pinnedAreas: copies put one page set in several IOASes, each under its own lock.
    private readonly Lock _lock = new();
    private int _pinnedAreas;

    public IoasPages(ulong userVa, ulong length, bool writable)
    {
        UserVa = userVa;
        Length = length;
        Writable = writable;
    }

    /// <summary>The user address of the first byte.</summary>
    public ulong UserVa { get; }

    public ulong Length { get; }

    /// <summary>Whether the pages may be written: set by the IOAS_MAP that took them (<c>iopt_pages.writable</c>).</summary>
    public bool Writable { get; }

    /// <summary>The user memory behind the pages while an area pins them; null otherwise.</summary>
    public UserRegion? Region { get; private set; }

    /// <summary>The offset of <see cref="UserVa"/> in <see cref="Region"/>.</summary>
    public ulong RegionOffset { get; private set; }

    /// <summary>
    /// Pins the pages for one more area, looking them up (whole CPU pages, as pin_user_pages() takes them) when no
    /// area pins them yet; false (EFAULT) when the process does not have the memory.
    /// </summary>
    public bool TryPin(UserMemory memory)
    {
        lock (_lock)
        {
            if (_pinnedAreas == 0)
            {
                ulong first = UserVa & ~((ulong)PhysicalMemory.PageSize - 1);
                ulong end = (UserVa + Length + PhysicalMemory.PageSize - 1) & ~((ulong)PhysicalMemory.PageSize - 1);
                // pages.c pfn_reader_user_pin(): pin_user_pages_fast() with FOLL_WRITE for writable pages.
                if (end <= first || !memory.TryFind(first, end - first, out var region, out ulong offset) || (Writable && region.ReadOnly))
                {
                    return false;
                }

                Region = region;
                RegionOffset = offset + (UserVa - first);
            }

            Region!.Pin();
            _pinnedAreas++;
            return true;
        }
    }

    /// <summary>
    /// Drops one area's pin. With the last, the region is released if the process unmapped it, and forgotten, so
    /// that a later pin looks the range up again (the kernel pins from the mm anew).
    /// </summary>
    public void Unpin(UserMemory memory)
    {
        lock (_lock)
        {
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
}
