using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using static Iommufd.Tests.Kernel.IoasCalls;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// Dirty tracking on the mock through raw ioctls: IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_SET_DIRTY_TRACKING,
/// IOMMU_HWPT_GET_DIRTY_BITMAP and GET_HW_INFO's out_capabilities, as drivers/iommu/iommufd/hw_pagetable.c,
/// io_pagetable.c and iova_bitmap.c implement them over the selftest driver's dirty ops (selftest.c), following
/// tools/testing/selftests/iommu/iommufd.c FIXTURE(iommufd_dirty_tracking). Dirty bits come from dev0's DMA writes.
/// </summary>
public class DirtyTrackingTests
{
    private const ulong Page = MockFixture.PageSize;
    private const ulong MockPage = MockPagingDomain.IoPageSize;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    [Test]
    public void Dirty_tracking_needs_a_capable_device_a_no_dirty_device_cannot_attach_to_such_a_domain_and_hw_info_reports_the_device_flags()
    {
        // hw_pagetable.c iommufd_hwpt_paging_alloc() (device_iommu_capable() before the driver), main.c / device.c
        // iommufd_get_hw_info() (out_capabilities), selftest.c mock_domain_capable() and mock_domain_nop_attach();
        // selftest iommufd_dirty_tracking.enforce_dirty and device_dirty_capability.
        using var fx = new MockFixture();
        var dirty = fx.AllocHwpt(fx.DevId, fx.IoasId, IommuHwptAllocFlags.DirtyTracking, out uint hwpt);
        var noDirty = MockDomainFlags(fx, fx.IoasId, MockDevice.NoDirty);
        var refused = fx.AllocHwpt(noDirty.IdevId, fx.IoasId, IommuHwptAllocFlags.DirtyTracking | IommuHwptAllocFlags.NestParent, out _);
        int objects = fx.File.ObjectCount;
        var attachNoDirty = MockDomainFlags(fx, hwpt, MockDevice.NoDirty, expect: false);
        int afterRefusal = fx.File.ObjectCount;
        var attachCapable = MockDomainFlags(fx, hwpt, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(dirty, Is.EqualTo(Errno.Success));
            Assert.That(refused, Is.EqualTo(Errno.EOPNOTSUPP), "IOMMU_CAP_DIRTY_TRACKING is false for the device");
            Assert.That(HwCapabilities(fx, fx.DevId), Is.EqualTo((ulong)IommuHwCapabilities.DirtyTracking));
            Assert.That(HwCapabilities(fx, noDirty.IdevId), Is.Zero);
            Assert.That(HwInfo(fx, noDirty.IdevId).OutMaxPasidLog2, Is.Zero, "not PASID capable");
            Assert.That(HwInfo(fx, MockDomainFlags(fx, fx.IoasId, MockDevice.Pasid).IdevId).OutMaxPasidLog2, Is.EqualTo((byte)SelftestConstants.MockPasidWidth), "MOCK_FLAGS_DEVICE_PASID");
            Assert.That(attachNoDirty.Rc, Is.EqualTo(Errno.EINVAL), "a domain with dirty ops refuses a NO_DIRTY device");
            Assert.That(afterRefusal, Is.EqualTo(objects), "the refused MOCK_DOMAIN_FLAGS leaves nothing");
            Assert.That(attachCapable.Rc, Is.EqualTo(Errno.Success));
            Assert.That(attachCapable.HwptId, Is.EqualTo(hwpt));
        }
    }

    [Test]
    public void Set_dirty_tracking_checks_flags_then_the_hwpt_then_the_dirty_ops()
    {
        // hw_pagetable.c iommufd_hwpt_set_dirty_tracking(), io_pagetable.c iopt_set_dirty_tracking(); selftest
        // iommufd_dirty_tracking.set_dirty_tracking.
        using var fx = new MockFixture();
        uint plain = fx.AllocPaging(0);
        MockFixture.Expect(fx.AllocHwpt(fx.DevId, fx.IoasId, IommuHwptAllocFlags.DirtyTracking, out uint hwpt), "dirty HWPT");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SetDirty(fx, hwpt, 2), Is.EqualTo(Errno.EOPNOTSUPP), "an unknown flag");
            Assert.That(SetDirty(fx, 999, 1), Is.EqualTo(Errno.ENOENT));
            Assert.That(SetDirty(fx, fx.IoasId, 1), Is.EqualTo(Errno.ENOENT), "an IOAS is no paging HWPT");
            Assert.That(SetDirty(fx, plain, 1), Is.EqualTo(Errno.EOPNOTSUPP), "allocated without DIRTY_TRACKING");
            Assert.That(SetDirty(fx, plain, 0), Is.EqualTo(Errno.EOPNOTSUPP), "turning it off too");
            Assert.That(SetDirty(fx, hwpt, 1), Is.EqualTo(Errno.Success));
            Assert.That(SetDirty(fx, hwpt, 1), Is.EqualTo(Errno.Success), "no change is no error");
            Assert.That(SetDirty(fx, hwpt, 0), Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void The_bitmap_has_a_bit_per_page_that_a_dma_write_dirtied_and_reading_it_clears_them()
    {
        // io_pagetable.c iopt_read_and_clear_dirty_data(), iova_bitmap.c iova_bitmap_set() (bit i is the page at
        // iova + i * page_size, bits are only set), selftest.c mock_domain_read_and_clear_dirty() (MOCK_IO_PAGE_SIZE
        // granules); selftest iommufd_dirty_tracking.get_dirty_bitmap and get_dirty_bitmap_no_clear.
        using var fx = DirtyRig(out uint hwpt);
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "tracking on");
        Write(fx, Aperture + 0x800, 1);
        Write(fx, Aperture + 3 * Page, (int)Page);
        var read = fx.Device.DmaRead(Aperture + 2 * Page, new byte[16]);

        ulong bitmap = fx.Put(new ulong[] { 1UL << 40 });
        var first = GetDirty(fx, hwpt, Aperture, 4 * Page, MockPage, bitmap);
        ulong firstBits = fx.Get<ulong>(bitmap);
        ulong again = fx.Put(new ulong[1]);
        var second = GetDirty(fx, hwpt, Aperture, 4 * Page, MockPage, again);

        Write(fx, Aperture + Page, 8);
        ulong noClear = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 4 * Page, Page, noClear, IommuHwptGetDirtyBitmapFlags.NoClear), "NO_CLEAR");
        ulong still = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 4 * Page, Page, still), "read and clear");
        ulong cleared = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 4 * Page, Page, cleared), "read again");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(first, Is.EqualTo(Errno.Success));
            Assert.That(firstBits, Is.EqualTo((1UL << 40) | (1UL << 1) | (1UL << 6) | (1UL << 7)), "mock pages 1, 6 and 7; the caller's bit 40 stays");
            Assert.That(second, Is.EqualTo(Errno.Success));
            Assert.That(fx.Get<ulong>(again), Is.Zero, "read once, cleared");
            Assert.That(fx.Get<ulong>(noClear), Is.EqualTo(1UL << 1), "one bit per CPU page at page_size 4 KiB");
            Assert.That(fx.Get<ulong>(still), Is.EqualTo(1UL << 1), "NO_CLEAR left the bit");
            Assert.That(fx.Get<ulong>(cleared), Is.Zero);
        }
    }

    [Test]
    public void Only_writes_made_while_tracking_is_on_are_seen_and_turning_it_on_starts_a_clean_snapshot()
    {
        // io_pagetable.c iopt_set_dirty_tracking() → iopt_clear_dirty_data() on enable; selftest.c
        // mock_domain_set_dirty_tracking().
        using var fx = DirtyRig(out uint hwpt);
        Write(fx, Aperture, 8); // tracking off: not recorded
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on");
        ulong none = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 4 * Page, MockPage, none), "nothing yet");
        Write(fx, Aperture + Page, 8);
        MockFixture.Expect(SetDirty(fx, hwpt, 0), "off");
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on again: cleared");
        Write(fx, Aperture + 2 * Page, 8);
        ulong after = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 4 * Page, MockPage, after), "bitmap");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fx.Get<ulong>(none), Is.Zero);
            Assert.That(fx.Get<ulong>(after), Is.EqualTo(1UL << 4), "only the write after the last enable");
        }
    }

    [Test]
    public void The_range_is_checked_after_the_hwpt_and_before_the_dirty_ops()
    {
        // hw_pagetable.c iommufd_hwpt_get_dirty_bitmap() (flags and __reserved, then the HWPT), io_pagetable.c
        // iommufd_check_iova_range() (EOVERFLOW, then the IOAS alignment, page_size 0, the page_size alignment)
        // before iommu_read_and_clear_dirty()'s EOPNOTSUPP for a domain without dirty ops.
        using var fx = DirtyRig(out uint hwpt);
        uint plain = fx.AllocPaging(0);
        ulong bitmap = fx.Put(new ulong[4]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(GetDirty(fx, hwpt, Aperture, Page, MockPage, bitmap, (IommuHwptGetDirtyBitmapFlags)2), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(GetDirty(fx, 999, 1, ulong.MaxValue, 0, bitmap), Is.EqualTo(Errno.ENOENT), "the HWPT before the range");
            Assert.That(GetDirty(fx, hwpt, 2 * Page, ulong.MaxValue, MockPage, bitmap), Is.EqualTo(Errno.EOVERFLOW));
            Assert.That(GetDirty(fx, hwpt, Aperture + 0x400, Page, 0x400, bitmap), Is.EqualTo(Errno.EINVAL), "off the IOAS's 2 KiB alignment");
            Assert.That(GetDirty(fx, hwpt, Aperture, Page + 0x400, 0x400, bitmap), Is.EqualTo(Errno.EINVAL), "an end off the alignment");
            Assert.That(GetDirty(fx, hwpt, Aperture, Page, 0, bitmap), Is.EqualTo(Errno.EINVAL), "page_size 0");
            Assert.That(GetDirty(fx, hwpt, Aperture + MockPage, Page, Page, bitmap), Is.EqualTo(Errno.EINVAL), "iova off page_size");
            Assert.That(GetDirty(fx, plain, Aperture + 0x400, Page, MockPage, bitmap), Is.EqualTo(Errno.EINVAL), "the range before the dirty ops");
            Assert.That(GetDirty(fx, plain, Aperture, Page, MockPage, bitmap), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(GetDirty(fx, hwpt, Aperture, Page, MockPage, bitmap), Is.EqualTo(Errno.EINVAL), "tracking is off (see DiffersFromUpstreamTests)");
        }
    }

    [Test]
    public void A_bitmap_that_cannot_be_written_is_EFAULT_and_leaves_the_dirty_bits()
    {
        // iova_bitmap.c iova_bitmap_alloc() pins the bitmap (FOLL_WRITE) before any PTE is read; the emulation answers
        // EFAULT where upstream answers ENOMEM (DiffersFromUpstreamTests pins it). A bitmap of 65 pages takes two
        // u64 words, one of 32 pages one.
        using var fx = DirtyRig(out uint hwpt, pages: 16);
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on");
        Write(fx, Aperture + 15 * Page, 8);
        var edge = fx.Process.Map((long)Page);
        ulong lastWord = edge.Address + Page - 8; // the guard page follows
        ulong bitmap = fx.Put(new ulong[1]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(GetDirty(fx, hwpt, Aperture, 16 * Page, Page, 0), Is.EqualTo(Errno.EFAULT), "NULL");
            Assert.That(GetDirty(fx, hwpt, Aperture, 16 * Page, Page, 0x10_0000), Is.EqualTo(Errno.EFAULT), "unmapped");
            Assert.That(GetDirty(fx, hwpt, Aperture, 65 * MockPage, MockPage, lastWord), Is.EqualTo(Errno.EFAULT), "the second word is not there");
            Assert.That(GetDirty(fx, hwpt, Aperture, 16 * Page, Page, bitmap), Is.EqualTo(Errno.Success));
            Assert.That(fx.Get<ulong>(bitmap), Is.EqualTo(1UL << 15), "the refused calls cleared nothing");
            Assert.That(GetDirty(fx, hwpt, Aperture, 16 * Page, MockPage, lastWord), Is.EqualTo(Errno.Success), "one word fits");
        }
    }

    [Test]
    public void A_range_with_a_hole_is_EINVAL_after_the_areas_before_it_were_read()
    {
        // io_pagetable.c __iommu_read_and_clear_dirty(): iopt_for_each_contig_area() then !iopt_area_contig_done().
        using var fx = DirtyRig(out uint hwpt);
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address + 8 * Page, Page, Aperture + 6 * Page), "a second area after a hole");
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on");
        Write(fx, Aperture, 8);
        Write(fx, Aperture + 6 * Page, 8);
        ulong bitmap = fx.Put(new ulong[1]);
        var rc = GetDirty(fx, hwpt, Aperture, 7 * Page, Page, bitmap);
        ulong inside = fx.Put(new ulong[1]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(fx.Get<ulong>(bitmap), Is.EqualTo(1UL), "the area before the hole was read");
            Assert.That(GetDirty(fx, hwpt, Aperture + 6 * Page, Page, Page, inside), Is.EqualTo(Errno.Success));
            Assert.That(fx.Get<ulong>(inside), Is.EqualTo(1UL), "the area after the hole was not read");
        }
    }

    [Test]
    public void Test_op_dirty_marks_the_pages_a_bitmap_names_and_get_dirty_bitmap_reads_them_back()
    {
        // selftest.c iommufd_test_dirty() (its checks, then set_dirty() per set bit, out_nr_dirty the bits set);
        // iommufd_utils.h _test_mock_dirty_bitmaps() with every other mock page dirty.
        using var fx = DirtyRig(out uint hwpt, pages: 8);
        ulong marks = fx.Put(new ulong[] { 0x5555 });
        var off = MarkDirty(fx, hwpt, Aperture, 8 * Page, MockPage, marks, out _);
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on");
        var rc = MarkDirty(fx, hwpt, Aperture, 8 * Page, MockPage, marks, out ulong count);
        ulong bitmap = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 8 * Page, MockPage, bitmap), "read");
        ulong again = fx.Put(new ulong[1]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, 8 * Page, MockPage, again), "read again");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(off, Is.EqualTo(Errno.EINVAL), "tracking is off");
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(count, Is.EqualTo(8ul));
            Assert.That(fx.Get<ulong>(bitmap), Is.EqualTo(0x5555ul));
            Assert.That(fx.Get<ulong>(again), Is.Zero);
            Assert.That(MarkDirty(fx, hwpt, Aperture, 8 * Page, 0, marks, out _), Is.EqualTo(Errno.EINVAL), "page_size 0");
            Assert.That(MarkDirty(fx, hwpt, Aperture, 0, MockPage, marks, out _), Is.EqualTo(Errno.EINVAL), "length 0");
            Assert.That(MarkDirty(fx, hwpt, Aperture + 0x400, Page, MockPage, marks, out _), Is.EqualTo(Errno.EINVAL), "iova off page_size");
            Assert.That(MarkDirty(fx, hwpt, Aperture, Page, MockPage, 0, out _), Is.EqualTo(Errno.EINVAL), "NULL bitmap");
            Assert.That(MarkDirty(fx, 999, Aperture, Page, MockPage, marks, out _), Is.EqualTo(Errno.ENOENT));
            Assert.That(MarkDirty(fx, fx.IoasId, Aperture, Page, MockPage, marks, out _), Is.EqualTo(Errno.ENOENT), "an IOAS is no paging HWPT");
            Assert.That(MarkDirty(fx, hwpt, Aperture, Page, MockPage, 0x10_0000, out _), Is.EqualTo(Errno.EFAULT), "copy_from_user");
        }
    }

    [Test]
    public void A_huge_iova_device_domain_reports_a_whole_huge_page_for_one_dirty_entry()
    {
        // selftest.c mock_domain_alloc_paging() (MOCK_FLAGS_DEVICE_HUGE_IOVA adds MOCK_HUGE_PAGE_SIZE),
        // mock_domain_map_pages() (MOCK_PFN_HUGE_IOVA), mock_domain_read_and_clear_dirty() (a huge entry's page
        // size); selftest iommufd_dirty_tracking with variant->hugepages.
        const ulong huge = MockPagingDomain.HugePageSize;
        using var fx = new MockFixture();
        uint ioas = fx.AllocIoas();
        var device = MockDomainFlags(fx, ioas, MockDevice.HugeIova);
        var ram = fx.Process.Map((long)(3 * huge));
        ulong skew = (huge - (ram.PhysicalAddressAt(0) & (huge - 1))) & (huge - 1); // a physically huge-aligned MiB
        MockFixture.Expect(fx.MapAt(ioas, ram.Address + skew, huge, Aperture), "map a huge page");
        MockFixture.Expect(fx.AllocHwpt(device.IdevId, ioas, IommuHwptAllocFlags.DirtyTracking, out uint hwpt), "dirty HWPT");
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on");
        ulong marks = fx.Put(new ulong[] { 1UL << 3 });
        MockFixture.Expect(MarkDirty(fx, hwpt, Aperture, huge, MockPage, marks, out _), "one mock entry");
        ulong bitmap = fx.Put(new ulong[huge / MockPage / 64]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, huge, MockPage, bitmap), "read");
        var words = Enumerable.Range(0, (int)(huge / MockPage / 64)).Select(i => fx.Get<ulong>(bitmap + (ulong)(i * 8))).ToArray();

        Assert.That(words, Is.All.EqualTo(ulong.MaxValue), "all 512 mock pages of the huge page");
    }

    [Test]
    public void With_huge_pages_off_the_same_map_has_only_mock_pages_and_turning_them_off_later_is_EINVAL()
    {
        // ioas.c iommufd_ioas_option_huge_pages(), io_pagetable.c iopt_disable_large_pages() (EINVAL once a domain
        // holds mappings), pages.c batch_iommu_map_small() (a CPU page a map call: the driver cannot pick its huge
        // page); the dirty bitmap shows the page size of each entry (selftest.c mock_domain_read_and_clear_dirty()).
        const ulong huge = MockPagingDomain.HugePageSize;
        using var fx = new MockFixture();
        uint ioas = fx.AllocIoas();
        var device = MockDomainFlags(fx, ioas, MockDevice.HugeIova);
        ulong off = 0;
        var rcOff = fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Set, ioas, ref off);
        var ram = fx.Process.Map((long)(3 * huge));
        ulong skew = (huge - (ram.PhysicalAddressAt(0) & (huge - 1))) & (huge - 1);
        MockFixture.Expect(fx.MapAt(ioas, ram.Address + skew, huge, Aperture), "map what would be a huge page");
        MockFixture.Expect(fx.AllocHwpt(device.IdevId, ioas, IommuHwptAllocFlags.DirtyTracking, out uint hwpt), "dirty HWPT");
        MockFixture.Expect(SetDirty(fx, hwpt, 1), "on");
        ulong marks = fx.Put(new ulong[] { 1UL << 3 });
        MockFixture.Expect(MarkDirty(fx, hwpt, Aperture, huge, MockPage, marks, out _), "one mock entry");
        ulong bitmap = fx.Put(new ulong[huge / MockPage / 64]);
        MockFixture.Expect(GetDirty(fx, hwpt, Aperture, huge, MockPage, bitmap), "read");
        var words = Enumerable.Range(0, (int)(huge / MockPage / 64)).Select(i => fx.Get<ulong>(bitmap + (ulong)(i * 8))).ToArray();
        uint other = fx.AllocIoas();
        MockDomainFlags(fx, other, MockDevice.HugeIova);
        MockFixture.Expect(fx.MapAt(other, ram.Address + skew, huge, Aperture), "map on a domain with huge pages on");
        ulong offLater = 0;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rcOff, Is.EqualTo(Errno.Success), "a domain without mappings: huge pages can go off");
            Assert.That(words[0], Is.EqualTo(1UL << 3), "only the marked mock page: no huge entry");
            Assert.That(words.Skip(1), Is.All.Zero);
            Assert.That(fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Set, other, ref offLater), Is.EqualTo(Errno.EINVAL), "a domain holds mappings");
        }
    }

    /// <summary>dev0 attached to a DIRTY_TRACKING HWPT on the fixture's IOAS, <paramref name="pages"/> pages mapped at the aperture.</summary>
    internal static MockFixture DirtyRig(out uint hwpt, ulong pages = 4)
    {
        var fx = new MockFixture();
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, pages * Page, Aperture), "map");
        MockFixture.Expect(fx.AllocHwpt(fx.DevId, fx.IoasId, IommuHwptAllocFlags.DirtyTracking, out hwpt), "dirty HWPT");
        MockFixture.Expect(fx.Attach(hwpt), "attach");
        return fx;
    }

    internal static Errno SetDirty(MockFixture fx, uint hwpt, uint flags)
    {
        var cmd = new IommuHwptSetDirtyTracking { HwptId = hwpt, Flags = flags };
        return fx.Raw(IommufdIoctl.IOMMU_HWPT_SET_DIRTY_TRACKING, ref cmd);
    }

    internal static Errno GetDirty(MockFixture fx, uint hwpt, ulong iova, ulong length, ulong pageSize, ulong data, IommuHwptGetDirtyBitmapFlags flags = 0)
    {
        var cmd = new IommuHwptGetDirtyBitmap { HwptId = hwpt, Flags = (uint)flags, Iova = iova, Length = length, PageSize = pageSize, Data = data };
        return fx.Raw(IommufdIoctl.IOMMU_HWPT_GET_DIRTY_BITMAP, ref cmd);
    }

    internal static (Errno Rc, uint StdevId, uint HwptId, uint IdevId) MockDomainFlags(MockFixture fx, uint ptId, uint flags, bool expect = true)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainFlags, Id = ptId, MockDomainFlagsDevFlags = flags };
        var rc = fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
        if (expect)
        {
            MockFixture.Expect(rc, "MOCK_DOMAIN_FLAGS");
        }

        return (rc, cmd.MockDomainOutStdevId, cmd.MockDomainOutHwptId, cmd.MockDomainOutIdevId);
    }

    private static Errno MarkDirty(MockFixture fx, uint hwpt, ulong iova, ulong length, ulong pageSize, ulong uptr, out ulong count)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.Dirty, Id = hwpt, DirtyIova = iova, DirtyLength = length, DirtyPageSize = pageSize, DirtyUptr = uptr };
        var rc = fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
        count = cmd.DirtyOutNrDirty;
        return rc;
    }

    private static ulong HwCapabilities(MockFixture fx, uint devId) => HwInfo(fx, devId).OutCapabilities;

    private static IommuHwInfo HwInfo(MockFixture fx, uint devId)
    {
        var cmd = new IommuHwInfo { DevId = devId };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_GET_HW_INFO, ref cmd), "GET_HW_INFO");
        return cmd;
    }

    private static void Write(MockFixture fx, ulong iova, int length) =>
        Assert.That(fx.Device.DmaWrite(iova, new byte[length]), Is.EqualTo(DmaStatus.Ok), $"DMA write at 0x{iova:x}");
}
