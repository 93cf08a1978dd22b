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

    [Test]
    public void IommuTestCmd_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuTestCmd>(72,
            (nameof(IommuTestCmd.Size), 0),
            (nameof(IommuTestCmd.Op), 4),
            (nameof(IommuTestCmd.Id), 8),
            (nameof(IommuTestCmd.Reserved), 12),
            (nameof(IommuTestCmd.AddReservedStart), 16),
            (nameof(IommuTestCmd.AddReservedLength), 24),
            (nameof(IommuTestCmd.MockDomainOutStdevId), 16),
            (nameof(IommuTestCmd.MockDomainOutHwptId), 20),
            (nameof(IommuTestCmd.MockDomainOutIdevId), 24),
            (nameof(IommuTestCmd.MockDomainFlagsDevFlags), 28),
            (nameof(IommuTestCmd.MockDomainReplacePtId), 16),
            (nameof(IommuTestCmd.CheckMapIova), 16),
            (nameof(IommuTestCmd.CheckMapLength), 24),
            (nameof(IommuTestCmd.CheckMapUptr), 32),
            (nameof(IommuTestCmd.CheckRefsLength), 16),
            (nameof(IommuTestCmd.CheckRefsUptr), 24),
            (nameof(IommuTestCmd.CheckRefsRefs), 32),
            (nameof(IommuTestCmd.CreateAccessOutAccessFd), 16),
            (nameof(IommuTestCmd.CreateAccessFlags), 20),
            (nameof(IommuTestCmd.DestroyAccessPagesAccessPagesId), 16),
            (nameof(IommuTestCmd.AccessPagesFlags), 16),
            (nameof(IommuTestCmd.AccessPagesOutAccessPagesId), 20),
            (nameof(IommuTestCmd.AccessPagesIova), 24),
            (nameof(IommuTestCmd.AccessPagesLength), 32),
            (nameof(IommuTestCmd.AccessPagesUptr), 40),
            (nameof(IommuTestCmd.AccessRwIova), 16),
            (nameof(IommuTestCmd.AccessRwLength), 24),
            (nameof(IommuTestCmd.AccessRwUptr), 32),
            (nameof(IommuTestCmd.AccessRwFlags), 40),
            (nameof(IommuTestCmd.MemoryLimitLimit), 16),
            (nameof(IommuTestCmd.AccessReplaceIoasIoasId), 16),
            (nameof(IommuTestCmd.DirtyFlags), 16),
            (nameof(IommuTestCmd.DirtyIova), 24),
            (nameof(IommuTestCmd.DirtyLength), 32),
            (nameof(IommuTestCmd.DirtyPageSize), 40),
            (nameof(IommuTestCmd.DirtyUptr), 48),
            (nameof(IommuTestCmd.DirtyOutNrDirty), 56),
            (nameof(IommuTestCmd.CheckIotlbId), 16),
            (nameof(IommuTestCmd.CheckIotlbIotlb), 20),
            (nameof(IommuTestCmd.TriggerIopfDevId), 16),
            (nameof(IommuTestCmd.TriggerIopfPasid), 20),
            (nameof(IommuTestCmd.TriggerIopfGrpid), 24),
            (nameof(IommuTestCmd.TriggerIopfPerm), 28),
            (nameof(IommuTestCmd.TriggerIopfAddr), 32),
            (nameof(IommuTestCmd.TriggerVeventDevId), 16),
            (nameof(IommuTestCmd.CheckDevCacheId), 16),
            (nameof(IommuTestCmd.CheckDevCacheCache), 20),
            (nameof(IommuTestCmd.PasidAttachPasid), 16),
            (nameof(IommuTestCmd.PasidAttachPtId), 20),
            (nameof(IommuTestCmd.Last), 64));
}
