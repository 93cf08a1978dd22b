using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct vfio_iommu_type1_info_cap_iova_range (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE): the fixed part, followed by
/// <see cref="NrIovas"/> <see cref="VfioIovaRange"/> entries.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1InfoCapIovaRange
{
    public VfioInfoCapHeader Header;

    public uint NrIovas;

    public uint Reserved;
}
