using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iommu_type1_dma_map, the argument of VFIO_IOMMU_MAP_DMA.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1DmaMap
{
    public uint Argsz;

    /// <summary>VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE.</summary>
    public uint Flags;

    /// <summary>The process virtual address of the first byte.</summary>
    public ulong Vaddr;

    public ulong Iova;

    public ulong Size;
}
