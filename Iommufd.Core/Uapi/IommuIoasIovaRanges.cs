using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_iova_ranges, the argument of IOMMU_IOAS_IOVA_RANGES (0x84).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasIovaRanges
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_iova_ranges: the caller's sizeof, which IOMMU_IOAS_IOVA_RANGES copies in; bytes
    /// past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;
    /// <summary><c>ioas_id</c>: the IOAS whose usable IOVA ranges are read.</summary>
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
