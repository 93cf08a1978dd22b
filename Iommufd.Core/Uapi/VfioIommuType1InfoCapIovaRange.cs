using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct vfio_iommu_type1_info_cap_iova_range (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE): the fixed part, followed by
/// <see cref="NrIovas"/> <see cref="VfioIovaRange"/> entries.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1InfoCapIovaRange
{
    /// <summary>
    /// <c>header</c>: the chain link, with <see cref="VfioInfoCapHeader.Id"/> VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE.
    /// </summary>
    public VfioInfoCapHeader Header;

    /// <summary><c>nr_iovas</c>: how many <see cref="VfioIovaRange"/> entries follow.</summary>
    public uint NrIovas;

    /// <summary><c>reserved</c>: always 0.</summary>
    public uint Reserved;
}
