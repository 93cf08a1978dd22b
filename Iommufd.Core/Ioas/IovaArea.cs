using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Ioas;

/// <summary>
/// One IOAS mapping: an IOVA range over a slice of a page set (the kernel's <c>struct iopt_area</c>). The area pins
/// its pages in user memory once something needs them (<see cref="Pinned"/>).
/// </summary>
internal sealed class IovaArea
{
    public IovaArea(ulong iova, ulong length, IoasPages pages, ulong startByte, IommuProtection protection)
    {
        Iova = iova;
        Length = length;
        Pages = pages;
        StartByte = startByte;
        Protection = protection;
    }

    public ulong Iova { get; }

    public ulong Length { get; }

    public ulong Last => Iova + Length - 1;

    /// <summary>The page set the area takes a slice of.</summary>
    public IoasPages Pages { get; }

    /// <summary>Where the slice starts in <see cref="Pages"/>.</summary>
    public ulong StartByte { get; }

    public IommuProtection Protection { get; }

    /// <summary>The user address of the area's first byte.</summary>
    public ulong UserVa => Pages.UserVa + StartByte;

    /// <summary>The CPU pages the area touches (what it pins).</summary>
    public ulong PageCount =>
        ((UserVa & (PhysicalMemory.PageSize - 1)) + Length + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize;

    /// <summary>True once the area pinned all its user memory (a domain needed the pages).</summary>
    public bool Pinned { get; set; }

    /// <summary>Accesses (HW queues) that pinned part of this area; unmapping it is EBUSY while non-zero.</summary>
    public int Pins { get; set; }

    /// <summary>
    /// Access pins on the area (iopt_area.num_accesses): an unmap asks their accesses to let go and tries again.
    /// </summary>
    public int Accesses { get; set; }

    /// <summary>Set while an unmap waits for the accesses to let go: new access pins are EINVAL (prevent_access).</summary>
    public bool PreventAccess { get; set; }

    /// <summary>The user memory region and offset of the area's first byte; the pages must be resolved.</summary>
    public UserRegion Region => Pages.Region ?? throw new InvalidOperationException("the area's pages were never looked up");

    public ulong RegionOffset => Pages.RegionOffset + StartByte;

    /// <summary>
    /// The part of the area's slice of <see cref="Pages"/> that [<paramref name="first"/>, <paramref name="last"/>]
    /// covers, as a start byte in the page set and a length: what an access or a HW queue pins of the area
    /// (device.c iommufd_access_pin_pages() takes iopt_area_iova_to_index() of the range's ends in each area).
    /// </summary>
    public (ulong StartByte, ulong Length) Slice(ulong first, ulong last)
    {
        ulong from = Math.Max(first, Iova);
        return (StartByte + (from - Iova), Math.Min(last, Last) - from + 1);
    }

    /// <summary>Physical address of <paramref name="iova"/>, which must lie inside a pinned area.</summary>
    public ulong PhysicalAddressOf(ulong iova) => Region.PhysicalAddressAt(RegionOffset + (iova - Iova));
}
