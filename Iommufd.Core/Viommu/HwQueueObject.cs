using Iommufd.Core.Driver;
using Iommufd.Core.Ioas;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Viommu;

/// <summary>
/// A HW queue: guest memory a vIOMMU's hardware consumes directly (a Tegra241 VCMDQ). The core pins the memory
/// for the queue's lifetime and records the order dependency the driver asks for.
/// </summary>
internal sealed class HwQueueObject : IommufdObject, IHwQueueContext
{
    public HwQueueObject(ViommuObject viommu, IommuHwQueueType queueType, uint index, ulong iova, ulong length, ulong basePa, IoasPin pin)
    {
        Viommu = viommu;
        QueueType = queueType;
        Index = index;
        NestingParentIova = iova;
        Length = length;
        BasePhysicalAddress = basePa;
        Pin = pin;
    }

    public override IommufdObjectType Type => IommufdObjectType.HwQueue;

    /// <summary>
    /// A driver links a new queue to the previous one under the vIOMMU's queue lock (<see cref="DependOn"/>), so
    /// a queue is claimed and torn down under the same lock: a new queue never depends on one being destroyed.
    /// </summary>
    internal override Lock? DestroyGate => Viommu.HwQueueLock;

    public ViommuObject Viommu { get; }

    public IommuHwQueueType QueueType { get; }

    IommuHwQueueType IHwQueueContext.Type => QueueType;

    public uint Index { get; }

    public ulong NestingParentIova { get; }

    public ulong Length { get; }

    public ulong BasePhysicalAddress { get; }

    public IoasPin Pin { get; }

    public IHwQueue? Driver { get; set; }

    /// <summary>The queue this one depends on (it cannot be destroyed first).</summary>
    public HwQueueObject? DependsOn { get; private set; }

    public void DependOn(IHwQueueContext previous)
    {
        if (previous is not HwQueueObject prev || prev.Viommu != Viommu || DependsOn is not null)
        {
            throw new ArgumentException("a HW queue depends on at most one earlier queue of the same vIOMMU", nameof(previous));
        }

        prev.AddUser();
        DependsOn = prev;
    }

    internal override void Destroy()
    {
        lock (Viommu.HwQueueLock)
        {
            Driver?.Destroy();
            Viommu.HwQueues.Remove((QueueType, Index));
        }

        DependsOn?.RemoveUser();
        Pin.Dispose();
        Viommu.RemoveUser();
    }
}
