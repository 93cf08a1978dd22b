using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_map, the argument of IOMMU_IOAS_MAP (0x85).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasMap
{
    public uint Size;

    /// <summary>A combination of <see cref="IommuIoasMapFlags"/>.</summary>
    public uint Flags;

    public uint IoasId;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary>Userspace address of the memory to map.</summary>
    public ulong UserVa;

    public ulong Length;

    /// <summary>Input with <see cref="IommuIoasMapFlags.FixedIova"/>, otherwise output.</summary>
    public ulong Iova;
}
