using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_copy, the argument of IOMMU_IOAS_COPY (0x83).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasCopy
{
    public uint Size;

    /// <summary>A combination of <see cref="IommuIoasMapFlags"/>.</summary>
    public uint Flags;

    public uint DstIoasId;
    public uint SrcIoasId;
    public ulong Length;

    /// <summary>Input with <see cref="IommuIoasMapFlags.FixedIova"/>, otherwise output.</summary>
    public ulong DstIova;

    public ulong SrcIova;
}
