using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hw_info_tegra241_cmdqv, the data IOMMU_GET_HW_INFO (0x8a) returns for
/// <see cref="IommuHwInfoType.Tegra241Cmdqv"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwInfoTegra241Cmdqv
{
    /// <summary><c>flags</c>: always 0; no flag is defined.</summary>
    public uint Flags;

    /// <summary>CMDQV version, PARAM bits 3:0.</summary>
    public byte Version;

    /// <summary>Log2 of the number of logical VCMDQs per VINTF.</summary>
    public byte Log2Vcmdqs;

    /// <summary>Log2 of the number of SID match/replace pairs per VINTF.</summary>
    public byte Log2Vsids;

    /// <summary><c>__reserved</c>: always 0.</summary>
    public byte Reserved;
}
