using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_map_file, the argument of IOMMU_IOAS_MAP_FILE (0x8f).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasMapFile
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_map_file: the caller's sizeof, which IOMMU_IOAS_MAP_FILE copies in; bytes past
    /// the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A combination of <see cref="IommuIoasMapFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>ioas_id</c>: the IOAS the mapping is added to.</summary>
    public uint IoasId;

    /// <summary>File descriptor of the memfd to map (signed in the kernel header).</summary>
    public int Fd;

    /// <summary>Byte offset into the file.</summary>
    public ulong Start;

    /// <summary><c>length</c>: bytes of the file to map from <see cref="Start"/>.</summary>
    public ulong Length;

    /// <summary>Input with <see cref="IommuIoasMapFlags.FixedIova"/>, otherwise output.</summary>
    public ulong Iova;
}
