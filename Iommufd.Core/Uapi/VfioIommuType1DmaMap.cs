using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iommu_type1_dma_map, the argument of VFIO_IOMMU_MAP_DMA.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1DmaMap
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;

    /// <summary>VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE.</summary>
    public uint Flags;

    /// <summary>The process virtual address of the first byte.</summary>
    public ulong Vaddr;

    /// <summary><c>iova</c>: the IOVA the mapping starts at.</summary>
    public ulong Iova;

    /// <summary><c>size</c>: bytes to map.</summary>
    public ulong Size;
}
