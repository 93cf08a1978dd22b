using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_copy, the argument of IOMMU_IOAS_COPY (0x83).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasCopy
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_copy: the caller's sizeof, which IOMMU_IOAS_COPY copies in; bytes past the
    /// fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A combination of <see cref="IommuIoasMapFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>dst_ioas_id</c>: the IOAS the copied mapping is made in.</summary>
    public uint DstIoasId;
    /// <summary><c>src_ioas_id</c>: the IOAS the mapping is copied from.</summary>
    public uint SrcIoasId;
    /// <summary>
    /// <c>length</c>: bytes to copy; with <see cref="SrcIova"/> it must cover whole ranges made by IOMMU_IOAS_MAP.
    /// </summary>
    public ulong Length;

    /// <summary>Input with <see cref="IommuIoasMapFlags.FixedIova"/>, otherwise output.</summary>
    public ulong DstIova;

    /// <summary><c>src_iova</c>: first IOVA of the source range in the source IOAS.</summary>
    public ulong SrcIova;
}
