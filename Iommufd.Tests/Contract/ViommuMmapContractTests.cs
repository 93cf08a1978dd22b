using System.Runtime.CompilerServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd_viommu, viommu_alloc_with_data): tools/testing/selftests/iommu/iommufd.c, with the mock's side of it
/// in selftest.c mock_viommu_init() and the mmap rules of main.c iommufd_fops_mmap(). VIOMMU_ALLOC goes through the raw
/// ioctl; mmap through the file's mmap entry.
/// </summary>
[TestFixture]
public class ViommuMmapContractTests : MockContractTest
{
    private const uint InData = 0xbeef;
    private const ulong TwoPages = 2 * MockFixture.PageSize;

    private uint _viommu;
    private IommuViommuSelftest _out;

    [SetUp]
    public void AllocateAVIommuWithData()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuViommuSelftest { InData = InData });
        MockFixture.Expect(Fx.AllocViommu(Fx.DevId, parent, (uint)IommuViommuType.Selftest, out _viommu, data, (uint)Unsafe.SizeOf<IommuViommuSelftest>()), "VIOMMU_ALLOC with data");
        _out = Fx.Get<IommuViommuSelftest>(data);
    }

    [Test]
    public void The_mock_returns_out_data_equal_to_in_data_and_a_two_page_mmap_range()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_out.OutData, Is.EqualTo(InData));
            Assert.That(_out.OutMmapLength, Is.EqualTo(TwoPages));
            Assert.That(_out.OutMmapOffset % MockFixture.PageSize, Is.Zero, "a page-aligned offset");
        }
    }

    [TestCase(MockFixture.PageSize, TwoPages, TestName = "Mmap_one_page_past_the_offset_is_ENXIO")]
    [TestCase(TwoPages, TwoPages, TestName = "Mmap_two_pages_past_the_offset_is_ENXIO")]
    [TestCase(0ul, TwoPages / 2, TestName = "Mmap_of_half_the_length_is_ENXIO")]
    [TestCase(0ul, TwoPages * 2, TestName = "Mmap_of_double_the_length_is_ENXIO")]
    public void An_mmap_that_is_not_exactly_the_registered_range_is_ENXIO(ulong offsetDelta, ulong length)
    {
        var rc = Fx.File.Mmap(_out.OutMmapOffset + offsetDelta, length, MmapProtection.ReadWriteShared, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENXIO));
    }

    [Test]
    public void The_exact_mmap_reads_back_in_data_and_keeps_the_vIOMMU_busy_until_it_is_unmapped()
    {
        var rc = Fx.File.Mmap(_out.OutMmapOffset, _out.OutMmapLength, MmapProtection.ReadWriteShared, out var mapping);
        Assert.That(rc, Is.EqualTo(Errno.Success));
        uint readBack = mapping.Read32(0);
        mapping.Write32(MockFixture.PageSize, 0x1234);
        uint secondPage = mapping.Read32(MockFixture.PageSize);
        var busy = Fx.Destroy(_viommu);
        mapping.Dispose();
        var destroy = Fx.Destroy(_viommu);
        var remapAfterDestroy = Fx.File.Mmap(_out.OutMmapOffset, _out.OutMmapLength, MmapProtection.ReadWriteShared, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(readBack, Is.EqualTo(InData));
            Assert.That(secondPage, Is.EqualTo(0x1234u), "the second page is plain memory too");
            Assert.That(busy, Is.EqualTo(Errno.EBUSY));
            Assert.That(destroy, Is.EqualTo(Errno.Success));
            Assert.That(remapAfterDestroy, Is.EqualTo(Errno.ENXIO), "destroy removed the registration");
            Assert.That(Fx.Mock.ViommuCount, Is.Zero);
        }
    }

    [Test]
    public void Data_shorter_than_out_data_is_EINVAL()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuViommuSelftest { InData = InData });

        var rc = Fx.AllocViommu(Fx.DevId, parent, (uint)IommuViommuType.Selftest, out _, data, sizeof(uint) * 2 - 1);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Data_up_to_out_data_is_enough_and_gets_out_data_back_but_no_mmap_fields()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuViommuSelftest { InData = 7, OutMmapOffset = 0xaaaa, OutMmapLength = 0xbbbb });
        int framesBefore = Fx.Memory.FrameCount;

        var rc = Fx.AllocViommu(Fx.DevId, parent, (uint)IommuViommuType.Selftest, out _, data, sizeof(uint) * 2);
        var result = Fx.Get<IommuViommuSelftest>(data);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(result.OutData, Is.EqualTo(7u));
            Assert.That(result.OutMmapOffset, Is.EqualTo(0xaaaaul), "beyond data_len nothing is written");
            Assert.That(result.OutMmapLength, Is.EqualTo(0xbbbbul));
            Assert.That(Fx.Memory.FrameCount, Is.EqualTo(framesBefore + 2), "two pages for the mmap region");
        }
    }

    [Test]
    public void A_data_pointer_outside_user_memory_is_EFAULT_and_leaves_nothing_behind()
    {
        uint parent = Fx.AllocPaging();
        int framesBefore = Fx.Memory.FrameCount;
        int viommusBefore = Fx.Mock.ViommuCount;

        var rc = Fx.AllocViommu(Fx.DevId, parent, (uint)IommuViommuType.Selftest, out _, 0x1000, (uint)Unsafe.SizeOf<IommuViommuSelftest>());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EFAULT));
            Assert.That(Fx.Mock.ViommuCount, Is.EqualTo(viommusBefore));
            Assert.That(Fx.Memory.FrameCount, Is.EqualTo(framesBefore));
        }
    }
}
