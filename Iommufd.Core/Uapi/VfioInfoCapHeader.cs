using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_info_cap_header: the head of each capability in a VFIO info chain.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioInfoCapHeader
{
    /// <summary>VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, ...</summary>
    public ushort Id;

    /// <summary><c>version</c>: the layout version of this capability; 1 for every capability reported here.</summary>
    public ushort Version;

    /// <summary>Offset of the next capability from the start of the info struct; 0 for the last.</summary>
    public uint Next;
}
