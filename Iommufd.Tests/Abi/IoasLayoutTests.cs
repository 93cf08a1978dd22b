using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>IOAS and general command structs, include/uapi/linux/iommufd.h.</summary>
[TestFixture]
public class IoasLayoutTests
{
    [Test]
    public void IommuDestroy_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuDestroy>(8,
            (nameof(IommuDestroy.Size), 0),
            (nameof(IommuDestroy.Id), 4));

    [Test]
    public void IommuIoasAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasAlloc>(12,
            (nameof(IommuIoasAlloc.Size), 0),
            (nameof(IommuIoasAlloc.Flags), 4),
            (nameof(IommuIoasAlloc.OutIoasId), 8));

    [Test]
    public void IommuIovaRange_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIovaRange>(16,
            (nameof(IommuIovaRange.Start), 0),
            (nameof(IommuIovaRange.Last), 8));

    [Test]
    public void IommuIoasIovaRanges_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasIovaRanges>(32,
            (nameof(IommuIoasIovaRanges.Size), 0),
            (nameof(IommuIoasIovaRanges.IoasId), 4),
            (nameof(IommuIoasIovaRanges.NumIovas), 8),
            (nameof(IommuIoasIovaRanges.Reserved), 12),
            (nameof(IommuIoasIovaRanges.AllowedIovas), 16),
            (nameof(IommuIoasIovaRanges.OutIovaAlignment), 24));

    [Test]
    public void IommuIoasAllowIovas_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasAllowIovas>(24,
            (nameof(IommuIoasAllowIovas.Size), 0),
            (nameof(IommuIoasAllowIovas.IoasId), 4),
            (nameof(IommuIoasAllowIovas.NumIovas), 8),
            (nameof(IommuIoasAllowIovas.Reserved), 12),
            (nameof(IommuIoasAllowIovas.AllowedIovas), 16));

    [Test]
    public void IommuIoasMap_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasMap>(40,
            (nameof(IommuIoasMap.Size), 0),
            (nameof(IommuIoasMap.Flags), 4),
            (nameof(IommuIoasMap.IoasId), 8),
            (nameof(IommuIoasMap.Reserved), 12),
            (nameof(IommuIoasMap.UserVa), 16),
            (nameof(IommuIoasMap.Length), 24),
            (nameof(IommuIoasMap.Iova), 32));

    [Test]
    public void IommuIoasMapFile_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasMapFile>(40,
            (nameof(IommuIoasMapFile.Size), 0),
            (nameof(IommuIoasMapFile.Flags), 4),
            (nameof(IommuIoasMapFile.IoasId), 8),
            (nameof(IommuIoasMapFile.Fd), 12),
            (nameof(IommuIoasMapFile.Start), 16),
            (nameof(IommuIoasMapFile.Length), 24),
            (nameof(IommuIoasMapFile.Iova), 32));

    [Test]
    public void IommuIoasMapFile_fd_is_signed_like_the_kernel_s32() =>
        Assert.That(typeof(IommuIoasMapFile).GetField(nameof(IommuIoasMapFile.Fd))!.FieldType, Is.EqualTo(typeof(int)));

    [Test]
    public void IommuIoasCopy_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasCopy>(40,
            (nameof(IommuIoasCopy.Size), 0),
            (nameof(IommuIoasCopy.Flags), 4),
            (nameof(IommuIoasCopy.DstIoasId), 8),
            (nameof(IommuIoasCopy.SrcIoasId), 12),
            (nameof(IommuIoasCopy.Length), 16),
            (nameof(IommuIoasCopy.DstIova), 24),
            (nameof(IommuIoasCopy.SrcIova), 32));

    [Test]
    public void IommuIoasUnmap_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasUnmap>(24,
            (nameof(IommuIoasUnmap.Size), 0),
            (nameof(IommuIoasUnmap.IoasId), 4),
            (nameof(IommuIoasUnmap.Iova), 8),
            (nameof(IommuIoasUnmap.Length), 16));

    [Test]
    public void IommuOption_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuOption>(24,
            (nameof(IommuOption.Size), 0),
            (nameof(IommuOption.OptionId), 4),
            (nameof(IommuOption.Op), 8),
            (nameof(IommuOption.Reserved), 10),
            (nameof(IommuOption.ObjectId), 12),
            (nameof(IommuOption.Val64), 16));

    [Test]
    public void IommuVfioIoas_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuVfioIoas>(12,
            (nameof(IommuVfioIoas.Size), 0),
            (nameof(IommuVfioIoas.IoasId), 4),
            (nameof(IommuVfioIoas.Op), 8),
            (nameof(IommuVfioIoas.Reserved), 10));

    [Test]
    public void IommuIoasChangeProcess_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuIoasChangeProcess>(8,
            (nameof(IommuIoasChangeProcess.Size), 0),
            (nameof(IommuIoasChangeProcess.Reserved), 4));
}
