using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iommu_type1_dma_unmap, the argument of VFIO_IOMMU_UNMAP_DMA (without its data[] tail).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1DmaUnmap
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;

    /// <summary>0 or VFIO_DMA_UNMAP_FLAG_ALL.</summary>
    public uint Flags;

    /// <summary><c>iova</c>: first IOVA of the range to unmap.</summary>
    public ulong Iova;

    /// <summary>In: the length to unmap. Out: the bytes unmapped.</summary>
    public ulong Size;
}
