using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_map_file, the argument of IOMMU_IOAS_MAP_FILE (0x8f).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasMapFile
{
    public uint Size;

    /// <summary>A combination of <see cref="IommuIoasMapFlags"/>.</summary>
    public uint Flags;

    public uint IoasId;

    /// <summary>File descriptor of the memfd to map (signed in the kernel header).</summary>
    public int Fd;

    /// <summary>Byte offset into the file.</summary>
    public ulong Start;

    public ulong Length;

    /// <summary>Input with <see cref="IommuIoasMapFlags.FixedIova"/>, otherwise output.</summary>
    public ulong Iova;
}
