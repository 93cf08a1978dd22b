using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>HWPT, HW info, dirty tracking and fault-queue structs, include/uapi/linux/iommufd.h.</summary>
[TestFixture]
public class HwptLayoutTests
{
    [Test]
    public void IommuHwptAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptAlloc>(48,
            (nameof(IommuHwptAlloc.Size), 0),
            (nameof(IommuHwptAlloc.Flags), 4),
            (nameof(IommuHwptAlloc.DevId), 8),
            (nameof(IommuHwptAlloc.PtId), 12),
            (nameof(IommuHwptAlloc.OutHwptId), 16),
            (nameof(IommuHwptAlloc.Reserved), 20),
            (nameof(IommuHwptAlloc.DataType), 24),
            (nameof(IommuHwptAlloc.DataLen), 28),
            (nameof(IommuHwptAlloc.DataUptr), 32),
            (nameof(IommuHwptAlloc.FaultId), 40),
            (nameof(IommuHwptAlloc.Reserved2), 44));

    [Test]
    public void IommuHwInfo_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwInfo>(40,
            (nameof(IommuHwInfo.Size), 0),
            (nameof(IommuHwInfo.Flags), 4),
            (nameof(IommuHwInfo.DevId), 8),
            (nameof(IommuHwInfo.DataLen), 12),
            (nameof(IommuHwInfo.DataUptr), 16),
            (nameof(IommuHwInfo.DataType), 24),
            (nameof(IommuHwInfo.OutMaxPasidLog2), 28),
            (nameof(IommuHwInfo.Reserved), 29),
            (nameof(IommuHwInfo.OutCapabilities), 32));

    [Test]
    public void IommuHwptSetDirtyTracking_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptSetDirtyTracking>(16,
            (nameof(IommuHwptSetDirtyTracking.Size), 0),
            (nameof(IommuHwptSetDirtyTracking.Flags), 4),
            (nameof(IommuHwptSetDirtyTracking.HwptId), 8),
            (nameof(IommuHwptSetDirtyTracking.Reserved), 12));

    [Test]
    public void IommuHwptGetDirtyBitmap_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptGetDirtyBitmap>(48,
            (nameof(IommuHwptGetDirtyBitmap.Size), 0),
            (nameof(IommuHwptGetDirtyBitmap.HwptId), 4),
            (nameof(IommuHwptGetDirtyBitmap.Flags), 8),
            (nameof(IommuHwptGetDirtyBitmap.Reserved), 12),
            (nameof(IommuHwptGetDirtyBitmap.Iova), 16),
            (nameof(IommuHwptGetDirtyBitmap.Length), 24),
            (nameof(IommuHwptGetDirtyBitmap.PageSize), 32),
            (nameof(IommuHwptGetDirtyBitmap.Data), 40));

    [Test]
    public void IommuHwptInvalidate_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptInvalidate>(32,
            (nameof(IommuHwptInvalidate.Size), 0),
            (nameof(IommuHwptInvalidate.HwptId), 4),
            (nameof(IommuHwptInvalidate.DataUptr), 8),
            (nameof(IommuHwptInvalidate.DataType), 16),
            (nameof(IommuHwptInvalidate.EntryLen), 20),
            (nameof(IommuHwptInvalidate.EntryNum), 24),
            (nameof(IommuHwptInvalidate.Reserved), 28));

    [Test]
    public void IommuFaultAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuFaultAlloc>(16,
            (nameof(IommuFaultAlloc.Size), 0),
            (nameof(IommuFaultAlloc.Flags), 4),
            (nameof(IommuFaultAlloc.OutFaultId), 8),
            (nameof(IommuFaultAlloc.OutFaultFd), 12));

    [Test]
    public void IommuHwptPgfault_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptPgfault>(40,
            (nameof(IommuHwptPgfault.Flags), 0),
            (nameof(IommuHwptPgfault.DevId), 4),
            (nameof(IommuHwptPgfault.Pasid), 8),
            (nameof(IommuHwptPgfault.Grpid), 12),
            (nameof(IommuHwptPgfault.Perm), 16),
            (nameof(IommuHwptPgfault.Reserved), 20),
            (nameof(IommuHwptPgfault.Addr), 24),
            (nameof(IommuHwptPgfault.Length), 32),
            (nameof(IommuHwptPgfault.Cookie), 36));

    [Test]
    public void IommuHwptPageResponse_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptPageResponse>(8,
            (nameof(IommuHwptPageResponse.Cookie), 0),
            (nameof(IommuHwptPageResponse.Code), 4));
}
