using Iommufd.Core.Driver;

namespace Iommufd.Cmdqv.Driver;

/// <summary>A guest LVCMDQ allocated through IOMMU_HW_QUEUE_ALLOC.</summary>
internal sealed class CmdqvHwQueue(CmdqvViommu owner, IHwQueueContext context, int index, int globalQueue) : IHwQueue
{
    public IHwQueueContext Context { get; } = context;

    public int Index { get; } = index;

    public int GlobalQueue { get; } = globalQueue;

    public void Destroy() => owner.DestroyQueue(this);
}
