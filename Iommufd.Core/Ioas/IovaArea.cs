using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Ioas;

/// <summary>One IOAS mapping: an IOVA range backed by pinned user pages (the kernel's <c>struct iopt_area</c>).</summary>
internal sealed class IovaArea
{
    public IovaArea(ulong iova, ulong length, UserRegion region, ulong regionOffset, IommuProtection protection, bool writable, object pages)
    {
        Pages = pages;
        Iova = iova;
        Length = length;
        Region = region;
        RegionOffset = regionOffset;
        Protection = protection;
        Writable = writable;
    }

    public ulong Iova { get; }

    public ulong Length { get; }

    public ulong Last => Iova + Length - 1;

    public UserRegion Region { get; }

    public ulong RegionOffset { get; }

    public IommuProtection Protection { get; }

    /// <summary>
    /// Whether the pages behind the area may be written: set by the IOAS_MAP that first took them and inherited by
    /// every IOAS_COPY of them (the kernel's <c>iopt_pages.writable</c>, io_pagetable.c iopt_insert_area()).
    /// </summary>
    public bool Writable { get; }

    /// <summary>
    /// The page set the area takes a slice of: one per IOAS_MAP, shared by every IOAS_COPY of it (the kernel's
    /// <c>struct iopt_pages</c>, which pins each page once however many areas use it).
    /// </summary>
    public object Pages { get; }

    /// <summary>The user address of the area's first byte.</summary>
    public ulong UserVa => Region.Address + RegionOffset;

    /// <summary>The CPU pages the area touches (what it pins).</summary>
    public ulong PageCount =>
        ((UserVa & (PhysicalMemory.PageSize - 1)) + Length + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize;

    /// <summary>Accesses (HW queues) that pinned part of this area; unmapping it is EBUSY while non-zero.</summary>
    public int Pins { get; set; }

    /// <summary>Physical address of <paramref name="iova"/>, which must lie inside the area.</summary>
    public ulong PhysicalAddressOf(ulong iova) => Region.PhysicalAddressAt(RegionOffset + (iova - Iova));
}
