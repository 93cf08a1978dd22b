using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>The VFIO device-cdev and type1 container structs and request numbers: include/uapi/linux/vfio.h.</summary>
[TestFixture]
public class VfioLayoutTests
{
    [TestCase(VfioIoctl.VFIO_DEVICE_GET_INFO, 0x3B6Bu)]
    [TestCase(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, 0x3B6Cu)]
    [TestCase(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, 0x3B76u)]
    [TestCase(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77u)]
    [TestCase(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78u)]
    [TestCase(VfioIoctl.VFIO_GET_API_VERSION, 0x3B64u)]
    [TestCase(VfioIoctl.VFIO_CHECK_EXTENSION, 0x3B65u)]
    [TestCase(VfioIoctl.VFIO_SET_IOMMU, 0x3B66u)]
    [TestCase(VfioIoctl.VFIO_IOMMU_GET_INFO, 0x3B70u)]
    [TestCase(VfioIoctl.VFIO_IOMMU_MAP_DMA, 0x3B71u)]
    [TestCase(VfioIoctl.VFIO_IOMMU_UNMAP_DMA, 0x3B72u)]
    [TestCase(VfioIoctl.VFIO_IOMMU_DIRTY_PAGES, 0x3B75u)]
    public void Request_numbers_are_IO_of_semicolon_and_VFIO_BASE_plus_n(uint request, uint expected) =>
        Assert.That(request, Is.EqualTo(expected));

    [Test]
    public void VfioIommuType1Info_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioIommuType1Info>(24,
            (nameof(VfioIommuType1Info.Argsz), 0),
            (nameof(VfioIommuType1Info.Flags), 4),
            (nameof(VfioIommuType1Info.IovaPgsizes), 8),
            (nameof(VfioIommuType1Info.CapOffset), 16),
            (nameof(VfioIommuType1Info.Pad), 20));

    [Test]
    public void VfioInfoCapHeader_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioInfoCapHeader>(8,
            (nameof(VfioInfoCapHeader.Id), 0),
            (nameof(VfioInfoCapHeader.Version), 2),
            (nameof(VfioInfoCapHeader.Next), 4));

    [Test]
    public void VfioIommuType1InfoCapIovaRange_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioIommuType1InfoCapIovaRange>(16,
            (nameof(VfioIommuType1InfoCapIovaRange.Header), 0),
            (nameof(VfioIommuType1InfoCapIovaRange.NrIovas), 8),
            (nameof(VfioIommuType1InfoCapIovaRange.Reserved), 12));

    [Test]
    public void VfioIovaRange_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioIovaRange>(16,
            (nameof(VfioIovaRange.Start), 0),
            (nameof(VfioIovaRange.End), 8));

    [Test]
    public void VfioIommuType1InfoDmaAvail_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioIommuType1InfoDmaAvail>(12,
            (nameof(VfioIommuType1InfoDmaAvail.Header), 0),
            (nameof(VfioIommuType1InfoDmaAvail.Avail), 8));

    [Test]
    public void VfioIommuType1DmaMap_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioIommuType1DmaMap>(32,
            (nameof(VfioIommuType1DmaMap.Argsz), 0),
            (nameof(VfioIommuType1DmaMap.Flags), 4),
            (nameof(VfioIommuType1DmaMap.Vaddr), 8),
            (nameof(VfioIommuType1DmaMap.Iova), 16),
            (nameof(VfioIommuType1DmaMap.Size), 24));

    [Test]
    public void VfioIommuType1DmaUnmap_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioIommuType1DmaUnmap>(24,
            (nameof(VfioIommuType1DmaUnmap.Argsz), 0),
            (nameof(VfioIommuType1DmaUnmap.Flags), 4),
            (nameof(VfioIommuType1DmaUnmap.Iova), 8),
            (nameof(VfioIommuType1DmaUnmap.Size), 16));

    [Test]
    public void VfioDeviceBindIommufd_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioDeviceBindIommufd>(24,
            (nameof(VfioDeviceBindIommufd.Argsz), 0),
            (nameof(VfioDeviceBindIommufd.Flags), 4),
            (nameof(VfioDeviceBindIommufd.Iommufd), 8),
            (nameof(VfioDeviceBindIommufd.OutDevid), 12),
            (nameof(VfioDeviceBindIommufd.TokenUuidPtr), 16));

    [Test]
    public void VfioDeviceAttachIommufdPt_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioDeviceAttachIommufdPt>(16,
            (nameof(VfioDeviceAttachIommufdPt.Argsz), 0),
            (nameof(VfioDeviceAttachIommufdPt.Flags), 4),
            (nameof(VfioDeviceAttachIommufdPt.PtId), 8),
            (nameof(VfioDeviceAttachIommufdPt.Pasid), 12));

    [Test]
    public void VfioDeviceDetachIommufdPt_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioDeviceDetachIommufdPt>(12,
            (nameof(VfioDeviceDetachIommufdPt.Argsz), 0),
            (nameof(VfioDeviceDetachIommufdPt.Flags), 4),
            (nameof(VfioDeviceDetachIommufdPt.Pasid), 8));

    [Test]
    public void VfioDeviceInfo_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioDeviceInfo>(24,
            (nameof(VfioDeviceInfo.Argsz), 0),
            (nameof(VfioDeviceInfo.Flags), 4),
            (nameof(VfioDeviceInfo.NumRegions), 8),
            (nameof(VfioDeviceInfo.NumIrqs), 12),
            (nameof(VfioDeviceInfo.CapOffset), 16),
            (nameof(VfioDeviceInfo.Pad), 20));

    [Test]
    public void VfioRegionInfo_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<VfioRegionInfo>(32,
            (nameof(VfioRegionInfo.Argsz), 0),
            (nameof(VfioRegionInfo.Flags), 4),
            (nameof(VfioRegionInfo.Index), 8),
            (nameof(VfioRegionInfo.CapOffset), 12),
            (nameof(VfioRegionInfo.Size), 16),
            (nameof(VfioRegionInfo.Offset), 24));
}
