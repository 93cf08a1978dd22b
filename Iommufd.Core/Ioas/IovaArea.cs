using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Ioas;

/// <summary>One IOAS mapping: an IOVA range backed by pinned user pages (the kernel's <c>struct iopt_area</c>).</summary>
internal sealed class IovaArea
{
    public IovaArea(ulong iova, ulong length, UserRegion region, ulong regionOffset, IommuProtection protection)
    {
        Iova = iova;
        Length = length;
        Region = region;
        RegionOffset = regionOffset;
        Protection = protection;
    }

    public ulong Iova { get; }

    public ulong Length { get; }

    public ulong Last => Iova + Length - 1;

    public UserRegion Region { get; }

    public ulong RegionOffset { get; }

    public IommuProtection Protection { get; }

    /// <summary>Accesses (HW queues) that pinned part of this area; unmapping it is EBUSY while non-zero.</summary>
    public int Pins { get; set; }

    /// <summary>Physical address of <paramref name="iova"/>, which must lie inside the area.</summary>
    public ulong PhysicalAddressOf(ulong iova) => Region.PhysicalAddressAt(RegionOffset + (iova - Iova));
}
