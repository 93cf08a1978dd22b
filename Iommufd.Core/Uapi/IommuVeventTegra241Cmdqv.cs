using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_vevent_tegra241_cmdqv, the payload of a vEVENTQ record of <see cref="IommuVeventqType.Tegra241Cmdqv"/>
/// (IOMMU_VEVENTQ_ALLOC, 0x93).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuVeventTegra241Cmdqv
{
    /// <summary>
    /// The VINTF's 128-bit LVCMDQ_ERR_MAP (lvcmdq_err_map[2]), little-endian; bit n flags an error on LVCMDQ n.
    /// </summary>
    public UInt64x2 LvcmdqErrMap;
}
