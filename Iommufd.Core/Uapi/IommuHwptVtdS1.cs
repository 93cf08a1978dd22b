using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_vtd_s1, the driver data of IOMMU_HWPT_ALLOC (0x89) for <see cref="IommuHwptDataType.VtdS1"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptVtdS1
{
    /// <summary>A combination of <see cref="IommuVtdS1Flags"/>.</summary>
    public ulong Flags;

    /// <summary>Guest address of the stage-1 page table.</summary>
    public ulong PgtblAddr;

    /// <summary>Input address width of the stage-1 table.</summary>
    public uint AddrWidth;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
