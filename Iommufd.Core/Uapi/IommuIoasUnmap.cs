using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_unmap, the argument of IOMMU_IOAS_UNMAP (0x86).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasUnmap
{
    public uint Size;
    public uint IoasId;

    /// <summary>
    /// Start of the range; 0 together with a <see cref="Length"/> of <see cref="ulong.MaxValue"/> unmaps everything.
    /// </summary>
    public ulong Iova;

    /// <summary>Input: bytes to unmap. Output: bytes unmapped.</summary>
    public ulong Length;
}
