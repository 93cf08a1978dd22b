using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iommu_type1_info_dma_avail (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL): 12 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1InfoDmaAvail
{
    /// <summary>
    /// <c>header</c>: the chain link, with <see cref="VfioInfoCapHeader.Id"/> VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL.
    /// </summary>
    public VfioInfoCapHeader Header;

    /// <summary>How many more DMA mappings are allowed.</summary>
    public uint Avail;
}
