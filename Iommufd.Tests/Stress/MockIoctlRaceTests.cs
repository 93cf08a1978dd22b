using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.DriverContract;

namespace Iommufd.Tests.Stress;

/// <summary>The ioctl race suite on the mock (selftest) driver, which also has HW queues.</summary>
[TestFixture]
public sealed class MockIoctlRaceTests : IoctlRaceTests<MockPlugin>
{
    protected override IommuHwQueueType? HwQueueType => IommuHwQueueType.Selftest;

    protected override void AssertDriverReleasedEverything(DriverContractRig rig)
    {
        var mock = (MockIommu)rig.Device.Iommu;
        Assert.That(mock.DomainCount, Is.Zero, "mock domains left after close");
        Assert.That(mock.ViommuCount, Is.Zero, "mock vIOMMUs left after close");
    }
}
