using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_unmap, the argument of IOMMU_IOAS_UNMAP (0x86).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasUnmap
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_unmap: the caller's sizeof, which IOMMU_IOAS_UNMAP copies in; bytes past the
    /// fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;
    /// <summary><c>ioas_id</c>: the IOAS to remove mappings from.</summary>
    public uint IoasId;

    /// <summary>
    /// Start of the range; 0 together with a <see cref="Length"/> of <see cref="ulong.MaxValue"/> unmaps everything.
    /// </summary>
    public ulong Iova;

    /// <summary>Input: bytes to unmap. Output: bytes unmapped.</summary>
    public ulong Length;
}
