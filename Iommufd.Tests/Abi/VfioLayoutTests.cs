using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>The VFIO device-cdev structs and request numbers: include/uapi/linux/vfio.h.</summary>
[TestFixture]
public class VfioLayoutTests
{
    [TestCase(VfioIoctl.VFIO_DEVICE_GET_INFO, 0x3B6Bu)]
    [TestCase(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, 0x3B6Cu)]
    [TestCase(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, 0x3B76u)]
    [TestCase(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77u)]
    [TestCase(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78u)]
    public void Request_numbers_are_IO_of_semicolon_and_VFIO_BASE_plus_n(uint request, uint expected) =>
        Assert.That(request, Is.EqualTo(expected));

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
