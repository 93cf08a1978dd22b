using Iommufd.Core.Uapi;
using Iommufd.Tests.DriverContract;

namespace Iommufd.Tests.Stress;

/// <summary>The ioctl race suite on the Arm SMMUv3 driver (no CMDQV, so no HW queues).</summary>
[TestFixture]
public sealed class SmmuV3IoctlRaceTests : IoctlRaceTests<SmmuV3Plugin>
{
    protected override IommuHwQueueType? HwQueueType => null;
}
