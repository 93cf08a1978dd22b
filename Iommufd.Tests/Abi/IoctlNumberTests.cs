using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>Command numbers and <c>_IO(';', nr)</c> ioctl numbers, include/uapi/linux/iommufd.h.</summary>
[TestFixture]
public class IoctlNumberTests
{
    [Test]
    public void Ioctl_type_is_semicolon_and_commands_start_at_0x80()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(IommufdIoctl.Type, Is.EqualTo((uint)';'));
            Assert.That(IommufdIoctl.Type, Is.EqualTo(0x3Bu));
            Assert.That(IommufdIoctl.CmdBase, Is.EqualTo(0x80u));
        }
    }

    [TestCase(IommufdIoctl.IOMMU_DESTROY, IommufdCommand.Destroy, 0x80u, 0x3B80u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_ALLOC, IommufdCommand.IoasAlloc, 0x81u, 0x3B81u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_ALLOW_IOVAS, IommufdCommand.IoasAllowIovas, 0x82u, 0x3B82u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_COPY, IommufdCommand.IoasCopy, 0x83u, 0x3B83u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, IommufdCommand.IoasIovaRanges, 0x84u, 0x3B84u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_MAP, IommufdCommand.IoasMap, 0x85u, 0x3B85u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_UNMAP, IommufdCommand.IoasUnmap, 0x86u, 0x3B86u)]
    [TestCase(IommufdIoctl.IOMMU_OPTION, IommufdCommand.Option, 0x87u, 0x3B87u)]
    [TestCase(IommufdIoctl.IOMMU_VFIO_IOAS, IommufdCommand.VfioIoas, 0x88u, 0x3B88u)]
    [TestCase(IommufdIoctl.IOMMU_HWPT_ALLOC, IommufdCommand.HwptAlloc, 0x89u, 0x3B89u)]
    [TestCase(IommufdIoctl.IOMMU_GET_HW_INFO, IommufdCommand.GetHwInfo, 0x8Au, 0x3B8Au)]
    [TestCase(IommufdIoctl.IOMMU_HWPT_SET_DIRTY_TRACKING, IommufdCommand.HwptSetDirtyTracking, 0x8Bu, 0x3B8Bu)]
    [TestCase(IommufdIoctl.IOMMU_HWPT_GET_DIRTY_BITMAP, IommufdCommand.HwptGetDirtyBitmap, 0x8Cu, 0x3B8Cu)]
    [TestCase(IommufdIoctl.IOMMU_HWPT_INVALIDATE, IommufdCommand.HwptInvalidate, 0x8Du, 0x3B8Du)]
    [TestCase(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, IommufdCommand.FaultQueueAlloc, 0x8Eu, 0x3B8Eu)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_MAP_FILE, IommufdCommand.IoasMapFile, 0x8Fu, 0x3B8Fu)]
    [TestCase(IommufdIoctl.IOMMU_VIOMMU_ALLOC, IommufdCommand.ViommuAlloc, 0x90u, 0x3B90u)]
    [TestCase(IommufdIoctl.IOMMU_VDEVICE_ALLOC, IommufdCommand.VdeviceAlloc, 0x91u, 0x3B91u)]
    [TestCase(IommufdIoctl.IOMMU_IOAS_CHANGE_PROCESS, IommufdCommand.IoasChangeProcess, 0x92u, 0x3B92u)]
    [TestCase(IommufdIoctl.IOMMU_VEVENTQ_ALLOC, IommufdCommand.VeventqAlloc, 0x93u, 0x3B93u)]
    [TestCase(IommufdIoctl.IOMMU_HW_QUEUE_ALLOC, IommufdCommand.HwQueueAlloc, 0x94u, 0x3B94u)]
    [TestCase(IommufdIoctl.IOMMU_TEST_CMD, IommufdCommand.TestCmd, 0xA0u, 0x3BA0u)]
    public void Each_command_has_the_reference_number_and_ioctl(uint ioctl, IommufdCommand cmd, uint nr, uint expected)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)cmd, Is.EqualTo(nr));
            Assert.That(ioctl, Is.EqualTo(expected));
            Assert.That(IommufdIoctl.Number(cmd), Is.EqualTo(expected));
        }
    }

    [Test]
    public void Every_command_is_in_the_table_above() =>
        Assert.That(Enum.GetValues<IommufdCommand>(), Has.Length.EqualTo(22));
}
