using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_iova_ranges, the argument of IOMMU_IOAS_IOVA_RANGES (0x84).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasIovaRanges
{
    public uint Size;
    public uint IoasId;

    /// <summary>
    /// Input: capacity of the array at <see cref="AllowedIovas"/>. Output: total number of ranges, also when the call
    /// fails with EMSGSIZE.
    /// </summary>
    public uint NumIovas;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary>User pointer to an array of <see cref="IommuIovaRange"/>.</summary>
    public ulong AllowedIovas;

    /// <summary>Output: the minimum IOVA alignment, at least 1 and at most PAGE_SIZE.</summary>
    public ulong OutIovaAlignment;
}
