using Iommufd.Core.Driver;

namespace Iommufd.MockDriver;

/// <summary>
/// A mock HW queue (selftest.c struct mock_hw_queue): it occupies one of its vIOMMU's two slots and does nothing else.
/// The memory it was allocated on stays pinned by the core for as long as it exists.
/// </summary>
internal sealed class MockHwQueue : IHwQueue
{
    private readonly MockViommu _viommu;

    public MockHwQueue(MockViommu viommu, IHwQueueContext context)
    {
        _viommu = viommu;
        Context = context;
    }

    /// <summary>The core's view of the queue (type, index, addresses), also what a later queue depends on.</summary>
    public IHwQueueContext Context { get; }

    public uint Index => Context.Index;

    /// <summary>Frees the slot. The core drops the dependency on the previous queue itself.</summary>
    public void Destroy() => _viommu.RemoveHwQueue(this);
}
