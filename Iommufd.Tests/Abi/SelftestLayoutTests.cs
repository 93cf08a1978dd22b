using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>The mock driver's data formats, drivers/iommu/iommufd/iommufd_test.h.</summary>
[TestFixture]
public class SelftestLayoutTests
{
    [Test]
    public void IommuHwptSelftest_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptSelftest>(4,
            (nameof(IommuHwptSelftest.Iotlb), 0));

    [Test]
    public void IommuHwptInvalidateSelftest_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptInvalidateSelftest>(8,
            (nameof(IommuHwptInvalidateSelftest.Flags), 0),
            (nameof(IommuHwptInvalidateSelftest.IotlbId), 4));

    [Test]
    public void IommuViommuInvalidateSelftest_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuViommuInvalidateSelftest>(12,
            (nameof(IommuViommuInvalidateSelftest.Flags), 0),
            (nameof(IommuViommuInvalidateSelftest.VdevId), 4),
            (nameof(IommuViommuInvalidateSelftest.CacheId), 8));

    [Test]
    public void IommuViommuSelftest_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuViommuSelftest>(24,
            (nameof(IommuViommuSelftest.InData), 0),
            (nameof(IommuViommuSelftest.OutData), 4),
            (nameof(IommuViommuSelftest.OutMmapOffset), 8),
            (nameof(IommuViommuSelftest.OutMmapLength), 16));

    [Test]
    public void IommuViommuEventSelftest_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuViommuEventSelftest>(4,
            (nameof(IommuViommuEventSelftest.VirtId), 0));

    [Test]
    public void IommuTestHwInfo_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuTestHwInfo>(8,
            (nameof(IommuTestHwInfo.Flags), 0),
            (nameof(IommuTestHwInfo.TestReg), 4));
}
