using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_iova_range, one element of the range arrays of IOMMU_IOAS_IOVA_RANGES (0x84) and IOMMU_IOAS_ALLOW_IOVAS
/// (0x82).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIovaRange
{
    /// <summary>First IOVA of the range.</summary>
    public ulong Start;

    /// <summary>Last IOVA of the range (inclusive).</summary>
    public ulong Last;
}
