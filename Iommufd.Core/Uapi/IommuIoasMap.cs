using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_map, the argument of IOMMU_IOAS_MAP (0x85).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasMap
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_map: the caller's sizeof, which IOMMU_IOAS_MAP copies in; bytes past the fields
    /// this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A combination of <see cref="IommuIoasMapFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>ioas_id</c>: the IOAS the mapping is added to.</summary>
    public uint IoasId;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary>Userspace address of the memory to map.</summary>
    public ulong UserVa;

    /// <summary><c>length</c>: bytes to map from <see cref="UserVa"/>.</summary>
    public ulong Length;

    /// <summary>Input with <see cref="IommuIoasMapFlags.FixedIova"/>, otherwise output.</summary>
    public ulong Iova;
}
