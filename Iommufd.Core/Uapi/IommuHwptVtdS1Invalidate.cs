using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_vtd_s1_invalidate, one entry of IOMMU_HWPT_INVALIDATE (0x8d) for
/// <see cref="IommuHwptInvalidateDataType.VtdS1"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptVtdS1Invalidate
{
    /// <summary>Start address, 4 KiB aligned.</summary>
    public ulong Addr;

    /// <summary>
    /// Number of 4 KiB pages; with <see cref="Addr"/> 0, <see cref="ulong.MaxValue"/> means everything.
    /// </summary>
    public ulong Npages;

    /// <summary>A combination of <see cref="IommuHwptVtdS1InvalidateFlags"/>.</summary>
    public uint Flags;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
