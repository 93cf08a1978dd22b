using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hw_queue_alloc, the argument of IOMMU_HW_QUEUE_ALLOC (0x94).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwQueueAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_hw_queue_alloc: the caller's sizeof, which IOMMU_HW_QUEUE_ALLOC copies in; bytes
    /// past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    /// <summary><c>viommu_id</c>: the vIOMMU the queue is allocated for.</summary>
    public uint ViommuId;

    /// <summary>One of <see cref="IommuHwQueueType"/>.</summary>
    public uint Type;

    /// <summary>Index of the queue within the vIOMMU.</summary>
    public uint Index;

    /// <summary>Output: ID of the new HW queue.</summary>
    public uint OutHwQueueId;

    /// <summary>Base of the queue memory, an IOVA in the nesting parent's IOAS.</summary>
    public ulong NestingParentIova;

    /// <summary>Length of the queue memory in bytes.</summary>
    public ulong Length;
}
