using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using static Iommufd.Tests.Kernel.IoasCalls;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// IOMMU_TEST_CMD (0xA0) on the mock, through raw ioctls only, as tools/testing/selftests/iommu/iommufd.c drives it
/// (test_cmd_mock_domain, test_cmd_check_map, test_cmd_check_refs, ...). Each test names the selftest.c op handler
/// and the selftest case it follows.
/// </summary>
public class TestCmdTests
{
    private const ulong Page = MockFixture.PageSize;
    private const ulong MockPage = MockPagingDomain.IoPageSize;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    [Test]
    public void Without_a_selftest_plugin_the_command_does_not_exist()
    {
        // main.c iommufd_ioctl_ops[]: IOMMU_TEST_CMD is there only with CONFIG_IOMMUFD_TEST; beyond the table the
        // number goes to iommufd_vfio_ioctl(), which does not read the argument.
        using var host = new TestHost();
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.AddReserved };
        Assert.Multiple(() =>
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, ref cmd), Is.EqualTo(Errno.ENOTTY));
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, 0x10ul), Is.EqualTo(Errno.ENOTTY));
        });
    }

    [Test]
    public void An_unknown_op_is_EOPNOTSUPP_and_the_first_version_ends_at_last()
    {
        // selftest.c iommufd_test(): default case; main.c IOCTL_OP(IOMMU_TEST_CMD, ..., last): min_size 68.
        using var fx = new MockFixture();
        var unknown = new IommuTestCmd { Op = 999 };
        var bytes = Raw.Bytes(new IommuTestCmd { Op = (uint)IommuTestOp.SetTempMemoryLimit, MemoryLimitLimit = 64 });
        BitConverter.TryWriteBytes(bytes, 67u);
        Assert.Multiple(() =>
        {
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref unknown), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(fx.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, bytes.AsSpan()), Is.EqualTo(Errno.EINVAL));
            BitConverter.TryWriteBytes(bytes, 68u);
            Assert.That(fx.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, bytes.AsSpan()), Is.EqualTo(Errno.Success));
        });
    }

    [TestCase(22u, TestName = "The_dma_buf_ops_are_not_modelled_and_answer_EOPNOTSUPP(DMABUF_GET)")]
    [TestCase(23u, TestName = "The_dma_buf_ops_are_not_modelled_and_answer_EOPNOTSUPP(DMABUF_REVOKE)")]
    [TestCase(24u, TestName = "The_dma_buf_ops_are_not_modelled_and_answer_EOPNOTSUPP(MD_CHECK_DMABUF)")]
    public void The_dma_buf_ops_are_not_modelled_and_answer_EOPNOTSUPP(uint op)
    {
        // iommufd_test.h: IOMMU_TEST_OP_DMABUF_GET (22) and _DMABUF_REVOKE (23) follow PASID_CHECK_HWPT, and
        // MD_CHECK_DMABUF (24) follows them in jgg's iommufd for-next; selftest.c iommufd_test() serves them with a
        // dma-buf exporter. The emulation has no dma-buf, so each is the default case's EOPNOTSUPP and leaves the
        // struct as it was (README, "differs from upstream"); without a dma-buf fd, IOAS_MAP_FILE cannot be given one.
        using var fx = new MockFixture();
        // dmabuf_get {length, open_flags} and dmabuf_revoke {dmabuf_fd, revoked} lie where check_iotlb {id, iotlb} does.
        var cmd = new IommuTestCmd { Size = 72, Op = op, Id = fx.IoasId, CheckIotlbId = (uint)Page, CheckIotlbIotlb = 0x80000 };
        var before = Raw.Bytes(cmd);
        Assert.Multiple(() =>
        {
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(Raw.Bytes(cmd), Is.EqualTo(before));
        });
    }

    [Test]
    public void Add_reserved_splits_iova_ranges_and_EMSGSIZE_still_fills_what_fits()
    {
        // selftest.c iommufd_test_add_reserved(), ioas.c iommufd_ioas_iova_ranges(); selftest iommufd_ioas.iova_ranges
        // (the no-domain variant).
        using var fx = new MockFixture();
        var reserve = new IommuTestCmd { Op = (uint)IommuTestOp.AddReserved, Id = fx.IoasId, AddReservedStart = Page, AddReservedLength = Page };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref reserve), "ADD_RESERVED");
        var all = fx.IovaRanges(fx.IoasId, 8);
        var one = fx.IovaRanges(fx.IoasId, 1);
        var none = fx.IovaRanges(fx.IoasId, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((all.Rc, all.NumIovas), Is.EqualTo((Errno.Success, 2u)));
            Assert.That((all.Ranges[0].Start, all.Ranges[0].Last), Is.EqualTo((0ul, Page - 1)));
            Assert.That((all.Ranges[1].Start, all.Ranges[1].Last), Is.EqualTo((2 * Page, ulong.MaxValue)));
            Assert.That((one.Rc, one.NumIovas), Is.EqualTo((Errno.EMSGSIZE, 2u)));
            Assert.That((one.Ranges[0].Start, one.Ranges[0].Last), Is.EqualTo((0ul, Page - 1)), "the ranges that fit are written");
            Assert.That((none.Rc, none.NumIovas, none.Ranges[0].Last), Is.EqualTo((Errno.EMSGSIZE, 2u, 0ul)), "nothing is written into an array of 0");
        }
    }

    [Test]
    public void Reserved_iova_is_skipped_by_the_allocator_refused_to_fixed_maps_and_cannot_meet_areas_or_allowed_ranges()
    {
        // io_pagetable.c iopt_reserve_iova() (EADDRINUSE), iopt_check_iova() (EINVAL), iopt_alloc_iova(); selftest
        // iommufd_ioas.area_auto_iova and area_allowed.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        Errno Reserve(uint ioas, ulong start, ulong length)
        {
            var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.AddReserved, Id = ioas, AddReservedStart = start, AddReservedLength = length };
            return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
        }

        MockFixture.Expect(Reserve(fx.IoasId, Page, 100 * Page), "ADD_RESERVED");
        var auto = fx.MapAuto(fx.IoasId, va, 2 * Page, out ulong iova);
        var intoReserved = fx.MapAt(fx.IoasId, va, Page, 50 * Page);
        var overArea = Reserve(fx.IoasId, iova, Page);
        uint allowed = fx.AllocIoas();
        MockFixture.Expect(fx.AllowIovas(allowed, Range(0x10_0000, 0x1F_FFFF)), "ALLOW_IOVAS");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(auto, Is.EqualTo(Errno.Success));
            Assert.That(iova, Is.GreaterThanOrEqualTo(101 * Page), "the hole after the reservation");
            Assert.That(intoReserved, Is.EqualTo(Errno.EINVAL));
            Assert.That(overArea, Is.EqualTo(Errno.EADDRINUSE));
            Assert.That(Reserve(allowed, 0x10_0000 + Page, Page), Is.EqualTo(Errno.EADDRINUSE));
            Assert.That(Reserve(NoSuchIoas, 0, Page), Is.EqualTo(Errno.ENOENT));
        }
    }

    [Test]
    public void Mock_domain_binds_and_attaches_a_new_device_and_destroying_the_selftest_object_undoes_it()
    {
        // selftest.c iommufd_test_mock_domain() and iommufd_selftest_destroy(); selftest FIXTURE_SETUP(iommufd_ioas)
        // with mock_domains = 1 (its iova_ranges case sees the mock aperture and MOCK_PAGE_SIZE).
        using var fx = new MockFixture();
        uint ioas = fx.AllocIoas();
        var md = MockDomain(fx, ioas);
        var ranges = fx.IovaRanges(ioas, 2);
        var destroyDevice = fx.File.RawDestroy(md.IdevId);
        var destroy = fx.File.RawDestroy(md.StdevId);
        var hwptGone = fx.File.RawDestroy(md.HwptId);
        var after = fx.IovaRanges(ioas, 2);
        int objects = fx.File.ObjectCount;
        var bad = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomain, Id = NoSuchIoas };
        var badFlags = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainFlags, Id = ioas, MockDomainFlagsDevFlags = 1 << 8 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(md.Rc, Is.EqualTo(Errno.Success));
            Assert.That(new[] { md.StdevId, md.HwptId, md.IdevId }, Is.Unique.And.All.GreaterThan(0u));
            Assert.That((ranges.NumIovas, ranges.Alignment, ranges.Ranges[0].Start), Is.EqualTo((1u, MockPage, Aperture)));
            Assert.That(destroyDevice, Is.Not.EqualTo(Errno.Success), "the bound device belongs to the selftest object");
            Assert.That(destroy, Is.EqualTo(Errno.Success));
            Assert.That(hwptGone, Is.EqualTo(Errno.ENOENT), "the automatic domain went with its last device");
            Assert.That((after.NumIovas, after.Alignment, after.Ranges[0].Start), Is.EqualTo((1u, 1ul, 0ul)));
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref bad), Is.EqualTo(Errno.ENOENT));
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref badFlags), Is.EqualTo(Errno.EINVAL), "mock_dev_create()");
            Assert.That(fx.File.ObjectCount, Is.EqualTo(objects), "a refused MOCK_DOMAIN leaves nothing");
        }
    }

    [Test]
    public void Check_map_compares_every_mock_page_with_the_user_pages()
    {
        // selftest.c iommufd_test_md_check_pa(); selftest iommufd_mock_domain.basic / all_aligns (test_cmd_check_map).
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        var md = MockDomain(fx, fx.IoasId);
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, 4 * Page, Aperture), "map");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va + 4 * Page + MockPage, MockPage, Aperture + 0x10_0000 + MockPage), "half-page map");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(CheckMap(fx, md.HwptId, Aperture, 4 * Page, va), Is.EqualTo(Errno.Success));
            Assert.That(CheckMap(fx, md.HwptId, Aperture + Page, Page, va + Page), Is.EqualTo(Errno.Success), "a sub-range");
            Assert.That(CheckMap(fx, md.HwptId, Aperture + 0x10_0000 + MockPage, MockPage, va + 4 * Page + MockPage), Is.EqualTo(Errno.Success), "mock page granular");
            Assert.That(CheckMap(fx, md.HwptId, Aperture, Page, va + Page), Is.EqualTo(Errno.EINVAL), "other pages");
            Assert.That(CheckMap(fx, md.HwptId, Aperture + 4 * Page, Page, va + 4 * Page), Is.EqualTo(Errno.EINVAL), "a hole");
            Assert.That(CheckMap(fx, md.HwptId, Aperture + 0x400, Page, va), Is.EqualTo(Errno.EINVAL), "IOVA off the mock page");
            Assert.That(CheckMap(fx, fx.IoasId, Aperture, Page, va), Is.EqualTo(Errno.ENOENT), "an IOAS is no paging HWPT");
            Assert.That(CheckMap(fx, md.HwptId, Aperture, Page, 0x10_0000), Is.EqualTo(Errno.EFAULT), "unmapped user memory");
        }

        MockFixture.Expect(fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out _), "unmap all");
        Assert.That(CheckMap(fx, md.HwptId, Aperture, Page, va), Is.EqualTo(Errno.EINVAL), "unmapped from the domain");
    }

    [Test]
    public void Check_refs_counts_one_pin_per_page_set_held_by_a_domain()
    {
        // selftest.c iommufd_test_md_check_refs(); pages.c pins a page set once however many areas share it (COPY),
        // and only once a domain (or an access) needs the pages. Selftest iommufd_ioas.copy_area / check_refs uses.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        uint second = fx.AllocIoas();
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, 2 * Page, Aperture), "map");
        var lazy = CheckRefs(fx, va, 2 * Page, 0);
        MockDomain(fx, fx.IoasId);
        var pinned = CheckRefs(fx, va, 2 * Page, 1);
        MockDomain(fx, second);
        MockFixture.Expect(fx.Copy(second, fx.IoasId, Aperture, 2 * Page, Aperture), "copy");
        var shared = CheckRefs(fx, va, 2 * Page, 1);
        MockFixture.Expect(fx.MapAt(second, va, Page, Aperture + 0x10_0000), "a second map of the first page");
        var twice = CheckRefs(fx, va, Page, 2);
        var wrong = CheckRefs(fx, va, Page, 1);
        MockFixture.Expect(fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out _), "unmap the first IOAS");
        MockFixture.Expect(fx.UnmapRange(second, 0, ulong.MaxValue, out _), "unmap the second IOAS");
        var released = CheckRefs(fx, va, 2 * Page, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(lazy, Is.EqualTo(Errno.Success), "no domain: no pin");
            Assert.That(pinned, Is.EqualTo(Errno.Success));
            Assert.That(shared, Is.EqualTo(Errno.Success), "a copy shares the page set");
            Assert.That(twice, Is.EqualTo(Errno.Success));
            Assert.That(wrong, Is.EqualTo(Errno.EIO));
            Assert.That(released, Is.EqualTo(Errno.Success));
            Assert.That(CheckRefs(fx, va + 1, Page, 0), Is.EqualTo(Errno.EINVAL), "unaligned");
            Assert.That(CheckRefs(fx, 0x10_0000, Page, 0), Is.EqualTo(Errno.EFAULT), "unmapped user memory");
        }
    }

    [Test]
    public void Check_iotlb_and_check_cache_read_the_mock_state()
    {
        // selftest.c iommufd_test_md_check_iotlb() and iommufd_test_dev_check_cache(); selftest
        // FIXTURE_SETUP(iommufd_ioas) (test_cmd_dev_check_cache_all) and iommufd_ioas.alloc_hwpt_nested.
        using var fx = new MockFixture();
        var md = MockDomain(fx, fx.IoasId);
        var parent = new IommuHwptAlloc { DevId = md.IdevId, PtId = fx.IoasId, Flags = (uint)IommuHwptAllocFlags.NestParent };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref parent), "nest parent");
        MockFixture.Expect(fx.AllocNested(parent.OutHwptId, out uint nested), "nested");

        using (Assert.EnterMultipleScope())
        {
            for (uint slot = 0; slot <= SelftestConstants.MockNestedDomainIotlbIdMax; slot++)
            {
                Assert.That(Check(fx, IommuTestOp.MdCheckIotlb, nested, slot, SelftestConstants.IotlbDefault), Is.EqualTo(Errno.Success));
                Assert.That(Check(fx, IommuTestOp.DevCheckCache, md.IdevId, slot, SelftestConstants.DevCacheDefault), Is.EqualTo(Errno.Success));
            }

            Assert.That(Check(fx, IommuTestOp.MdCheckIotlb, nested, 4, SelftestConstants.IotlbDefault), Is.EqualTo(Errno.EINVAL));
            Assert.That(Check(fx, IommuTestOp.MdCheckIotlb, nested, 0, 1), Is.EqualTo(Errno.EINVAL));
            Assert.That(Check(fx, IommuTestOp.MdCheckIotlb, parent.OutHwptId, 0, SelftestConstants.IotlbDefault), Is.EqualTo(Errno.ENOENT), "a paging HWPT");
            Assert.That(Check(fx, IommuTestOp.DevCheckCache, md.IdevId, 4, SelftestConstants.DevCacheDefault), Is.EqualTo(Errno.EINVAL));
            Assert.That(Check(fx, IommuTestOp.DevCheckCache, fx.IoasId, 0, SelftestConstants.DevCacheDefault), Is.EqualTo(Errno.ENOENT));
        }
    }

    [Test]
    public void Mock_domain_replace_moves_the_device_and_returns_the_hwpt()
    {
        // selftest.c iommufd_test_mock_domain_replace(); selftest iommufd_mock_domain.replace (test_cmd_mock_domain_replace).
        using var fx = new MockFixture();
        var md = MockDomain(fx, fx.IoasId);
        uint other = fx.AllocIoas();
        var replace = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainReplace, Id = md.StdevId, MockDomainReplacePtId = other };
        var rc = fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref replace);
        var ranges = fx.IovaRanges(other, 1);
        var badStdev = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainReplace, Id = md.IdevId, MockDomainReplacePtId = other };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(replace.MockDomainReplacePtId, Is.Not.EqualTo(other).And.Not.EqualTo(md.HwptId), "the new automatic domain's HWPT");
            Assert.That(ranges.Alignment, Is.EqualTo(MockPage), "the other IOAS has the device's domain now");
            Assert.That(fx.File.RawDestroy(md.HwptId), Is.EqualTo(Errno.ENOENT), "the old automatic domain is gone");
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref badStdev), Is.EqualTo(Errno.ENOENT), "a device ID is no selftest object");
        }
    }

    [Test]
    public void An_access_reads_and_writes_the_ioas_through_its_fd_and_holds_the_ioas_until_closed()
    {
        // selftest.c iommufd_test_create_access() / iommufd_test_access_rw() / iommufd_test_staccess_release(),
        // device.c iommufd_access_rw(); selftest iommufd_ioas.access_rw (test_cmd_create_access, ACCESS_RW).
        using var fx = new MockFixture();
        var ram = fx.GuestRam.Span;
        for (int i = 0; i < 2 * (int)Page; i++)
        {
            ram[i] = (byte)i;
        }

        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, 2 * Page, 0x10000), "map");
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address + 2 * Page, Page, 0x20000, IommuIoasMapFlags.Readable), "read-only map");
        var create = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = fx.IoasId };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref create), "CREATE_ACCESS");
        int fd = (int)create.CreateAccessOutAccessFd;
        ulong buffer = fx.Put(new byte[32]);
        ulong payload = fx.Put(Enumerable.Range(0, 16).Select(i => (byte)(0xA0 + i)).ToArray());

        var write = AccessRw(fx, fd, 0x10000 + 100, 16, payload, write: true);
        var read = AccessRw(fx, fd, 0x10000 + Page - 6, 12, buffer, write: false);
        var readBack = fx.Get<Guid>(buffer);
        var busy = fx.File.RawDestroy(fx.IoasId);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(write, Is.EqualTo(Errno.Success));
            Assert.That(ram.Slice(100, 16).ToArray(), Is.EqualTo(Enumerable.Range(0, 16).Select(i => (byte)(0xA0 + i)).ToArray()), "written into the pages behind the IOVA");
            Assert.That(read, Is.EqualTo(Errno.Success), "across two pages");
            Assert.That(readBack.ToByteArray().Take(12), Is.EqualTo(ram.Slice((int)Page - 6, 12).ToArray()));
            Assert.That(AccessRw(fx, fd, 0x20000, 4, payload, write: true), Is.EqualTo(Errno.EPERM), "a write over a read-only area");
            Assert.That(AccessRw(fx, fd, 0x20000, 4, buffer, write: false), Is.EqualTo(Errno.Success));
            Assert.That(AccessRw(fx, fd, 0x30000, 4, buffer, write: false), Is.EqualTo(Errno.ENOENT));
            Assert.That(AccessRw(fx, fd, 0x10000, 0, buffer, write: false), Is.EqualTo(Errno.EINVAL));
            Assert.That(AccessRw(fx, fd, ulong.MaxValue, 4, buffer, write: false), Is.EqualTo(Errno.EOVERFLOW));
            Assert.That(AccessRw(fx, 999, 0x10000, 4, buffer, write: false), Is.EqualTo(Errno.EBADFD), "no access fd");
            Assert.That(AccessRw(fx, fd, 0x10000, 4, buffer, write: false, flags: 1 << 3), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(AccessRw(fx, fd, 0x10000, (16 << 20) + 1, buffer, write: false), Is.EqualTo(Errno.ENOMEM));
            Assert.That(fx.GuestRam.IsPinned, Is.False, "pages pinned for a copy only");
            Assert.That(busy, Is.EqualTo(Errno.EBUSY), "the access holds the IOAS");
        }

        var badIoas = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = NoSuchIoas };
        var badFlags = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = fx.IoasId, CreateAccessFlags = 2 };
        Assert.Multiple(() =>
        {
            Assert.That(fx.File.Close(fd), Is.EqualTo(Errno.Success));
            Assert.That(fx.File.RawDestroy(fx.IoasId), Is.EqualTo(Errno.Success), "released with the fd");
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref badIoas), Is.EqualTo(Errno.ENOENT));
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref badFlags), Is.EqualTo(Errno.EOPNOTSUPP));
        });
    }

    [Test]
    public void An_unmap_whose_access_keeps_its_pins_gives_up_with_EDEADLK_after_the_areas_before_it_went()
    {
        // io_pagetable.c iopt_unmap_iova_range(): an area with num_accesses is closed to new pins (prevent_access),
        // the accesses are notified and the unmap tries again; more than 100 tries on the same area is EDEADLOCK
        // (EDEADLK), the areas before it already unmapped; iommufd_ioas_unmap() writes nothing back on an error.
        // selftest.c's accesses always unpin (iommufd_test_access_unmap()), so this takes the emulation's own
        // CREATE_ACCESS flag for an access that does not (see the README).
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x10000), "the first map");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va + Page, Page, 0x11000), "the second map");
        int fd = CreateAccess(fx, fx.IoasId, needsPinPages: true, flags: MockSelftest.KeepPinsOnUnmap);
        MockFixture.Expect(AccessPages(fx, fd, 0x11000, Page, va + Page, write: false, out uint item), "pin the second");
        var cmd = new IommuIoasUnmap { IoasId = fx.IoasId, Iova = 0x10000, Length = 2 * Page };
        var unmap = fx.Raw(IommufdIoctl.IOMMU_IOAS_UNMAP, ref cmd);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unmap, Is.EqualTo(Errno.EDEADLK));
            Assert.That(cmd.Length, Is.EqualTo(2 * Page), "no length comes back on an error");
            Assert.That(fx.UnmapRange(fx.IoasId, 0x10000, Page, out _), Is.EqualTo(Errno.ENOENT), "the area before the pinned one is gone");
            Assert.That(CheckRefs(fx, va + Page, Page, 1), Is.EqualTo(Errno.Success), "the access still pins its page");
            Assert.That(AccessPages(fx, fd, 0x11000, Page, 0, write: false, out _), Is.EqualTo(Errno.EINVAL), "the area takes no new pins (prevent_access)");
            Assert.That(DestroyAccessPages(fx, fd, item), Is.EqualTo(Errno.Success));
            Assert.That(fx.UnmapRange(fx.IoasId, 0x11000, Page, out ulong unmapped), Is.EqualTo(Errno.Success), "unpinned, the area goes");
            Assert.That(unmapped, Is.EqualTo(Page));
            Assert.That(CheckRefs(fx, va, 2 * Page, 0), Is.EqualTo(Errno.Success));
        }

        var unknown = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = fx.IoasId, CreateAccessFlags = 1u << 30 };
        Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref unknown), Is.EqualTo(Errno.EOPNOTSUPP), "no other flag is known");
    }

    [Test]
    public void Access_pages_pins_until_destroyed_and_an_unmap_that_meets_the_pin_has_the_access_let_go()
    {
        // selftest.c iommufd_test_access_pages() / iommufd_test_access_item_destroy() / iommufd_test_access_unmap(),
        // device.c iommufd_access_pin_pages(), io_pagetable.c iopt_unmap_iova_range() (num_accesses: notify, then try
        // again); selftest iommufd_ioas.access_pin and access_pin_unmap.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, 2 * Page, 0x10000), "map");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va + 2 * Page, Page, 0x20000, IommuIoasMapFlags.Readable), "read-only map");
        int fd = CreateAccess(fx, fx.IoasId, needsPinPages: true);
        var pin = AccessPages(fx, fd, 0x10000, Page, va, write: true, out uint first);
        var pinned = CheckRefs(fx, va, 2 * Page, 1);
        var second = AccessPages(fx, fd, 0x10000, Page, 0, write: false, out uint other);
        var destroyed = DestroyAccessPages(fx, fd, other);
        var unmap = fx.UnmapRange(fx.IoasId, 0x10000, 2 * Page, out ulong unmapped);
        var released = CheckRefs(fx, va, 2 * Page, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(pin, Is.EqualTo(Errno.Success));
            Assert.That(pinned, Is.EqualTo(Errno.Success), "the access pins the pages");
            Assert.That((second, other), Is.EqualTo((Errno.Success, first + 1)), "items are numbered in order");
            Assert.That(destroyed, Is.EqualTo(Errno.Success));
            Assert.That(DestroyAccessPages(fx, fd, other), Is.EqualTo(Errno.ENOENT), "destroyed already");
            Assert.That((unmap, unmapped), Is.EqualTo((Errno.Success, 2 * Page)), "the access let go and the unmap went on");
            Assert.That(released, Is.EqualTo(Errno.Success));
            Assert.That(DestroyAccessPages(fx, fd, first), Is.EqualTo(Errno.ENOENT), "the unmap unpinned the item");
            Assert.That(AccessPages(fx, fd, 0x20000, Page, 0, write: true, out _), Is.EqualTo(Errno.EPERM), "a write pin of a read-only area");
            Assert.That(AccessPages(fx, fd, 0x20000, Page, va, write: false, out _), Is.EqualTo(Errno.EBADE), "uptr names other pages");
            Assert.That(AccessPages(fx, fd, 0x20000, Page, 0x10_0000, write: false, out _), Is.EqualTo(Errno.EFAULT), "uptr unmapped");
            Assert.That(CheckRefs(fx, va + 2 * Page, Page, 0), Is.EqualTo(Errno.Success), "a refused pin is undone");
            Assert.That(AccessPages(fx, fd, 0x10000, Page, 0, write: false, out _), Is.EqualTo(Errno.ENOENT), "unmapped now");
            Assert.That(AccessPages(fx, fd, 0x20000, 0, 0, write: false, out _), Is.EqualTo(Errno.EINVAL), "length 0");
            Assert.That(AccessPages(fx, fd, ulong.MaxValue, 2, 0, write: false, out _), Is.EqualTo(Errno.EOVERFLOW));
            Assert.That(AccessPages(fx, fd, 0x20000, (16 << 20) + 1, 0, write: false, out _), Is.EqualTo(Errno.ENOMEM));
            Assert.That(AccessPages(fx, fd, 0x20000, Page, 0, write: false, out _, flags: 1 << 3), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(AccessPages(fx, 999, 0x20000, Page, 0, write: false, out _), Is.EqualTo(Errno.EBADFD));
            Assert.That(DestroyAccessPages(fx, 999, 0), Is.EqualTo(Errno.EBADFD));
        }
    }

    [Test]
    public void Access_pages_walks_the_areas_in_order_and_lets_go_of_what_it_pinned_before_a_refused_area()
    {
        // device.c iommufd_access_pin_pages(): iopt_area_add_access() pins each area of the walk before the next one's
        // check_area_prot(); on an error err_remove gives back what the walk pinned before it.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x10000), "map");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va + Page, Page, 0x10000 + Page, IommuIoasMapFlags.Readable), "read-only map");
        int fd = CreateAccess(fx, fx.IoasId, needsPinPages: true);
        var refused = AccessPages(fx, fd, 0x10000, 3 * Page, 0, write: true, out _);
        var undone = CheckRefs(fx, va, Page, 0);
        var hole = AccessPages(fx, fd, 0x10000, 3 * Page, 0, write: false, out _);
        var undoneToo = CheckRefs(fx, va, 2 * Page, 0);
        var read = AccessPages(fx, fd, 0x10000, 2 * Page, 0, write: false, out _);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused, Is.EqualTo(Errno.EPERM), "the read-only area comes before the hole after it");
            Assert.That(undone, Is.EqualTo(Errno.Success), "the first area's pin is given back");
            Assert.That(hole, Is.EqualTo(Errno.ENOENT), "a read pin passes both areas and meets the hole");
            Assert.That(undoneToo, Is.EqualTo(Errno.Success), "both areas' pins are given back");
            Assert.That(read, Is.EqualTo(Errno.Success));
            Assert.That(CheckRefs(fx, va, 2 * Page, 1), Is.EqualTo(Errno.Success), "the pin that went through holds both pages");
        }
    }

    [Test]
    public void Access_pages_needs_a_pinning_access_and_closing_the_access_unpins_its_items()
    {
        // selftest.c iommufd_test_access_pages() (selftest_access_ops_pin only), iommufd_test_staccess_release().
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x10000), "map");
        int plain = CreateAccess(fx, fx.IoasId, needsPinPages: false);
        int pinning = CreateAccess(fx, fx.IoasId, needsPinPages: true);
        var refused = AccessPages(fx, plain, 0x10000, Page, 0, write: false, out _);
        MockFixture.Expect(AccessPages(fx, pinning, 0x10000, Page, va, write: false, out _), "ACCESS_PAGES");
        var pinned = CheckRefs(fx, va, Page, 1);
        var closed = fx.File.Close(pinning);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused, Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(pinned, Is.EqualTo(Errno.Success));
            Assert.That(closed, Is.EqualTo(Errno.Success));
            Assert.That(CheckRefs(fx, va, Page, 0), Is.EqualTo(Errno.Success), "the release unpinned the item");
            Assert.That(fx.UnmapRange(fx.IoasId, 0x10000, Page, out _), Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void Access_replace_ioas_moves_the_access_and_the_hold_on_the_ioas()
    {
        // selftest.c iommufd_test_access_replace_ioas(), device.c iommufd_access_replace(); iommufd_utils.h
        // test_cmd_access_replace_ioas().
        using var fx = new MockFixture();
        uint other = fx.AllocIoas();
        MockFixture.Expect(fx.MapAt(other, fx.GuestRam.Address, Page, 0x40000), "map in the other IOAS");
        var create = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = fx.IoasId };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref create), "CREATE_ACCESS");
        int fd = (int)create.CreateAccessOutAccessFd;
        ulong buffer = fx.Put(new byte[8]);
        var before = AccessRw(fx, fd, 0x40000, 8, buffer, write: false);
        var replace = new IommuTestCmd { Op = (uint)IommuTestOp.AccessReplaceIoas, Id = (uint)fd, AccessReplaceIoasIoasId = other };
        var rc = fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref replace);
        var after = AccessRw(fx, fd, 0x40000, 8, buffer, write: false);
        var noIoas = replace with { AccessReplaceIoasIoasId = NoSuchIoas };
        var noAccess = replace with { Id = 999 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.EqualTo(Errno.ENOENT), "nothing mapped there in the first IOAS");
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(after, Is.EqualTo(Errno.Success));
            Assert.That(fx.File.RawDestroy(other), Is.EqualTo(Errno.EBUSY), "the access holds its new IOAS");
            Assert.That(fx.File.RawDestroy(fx.IoasId), Is.EqualTo(Errno.Success), "and let go of the old one");
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref noIoas), Is.EqualTo(Errno.ENOENT));
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref noAccess), Is.EqualTo(Errno.EBADFD));
        }
    }

    [Test]
    public void Trigger_iopf_queues_the_fault_on_the_attached_hwpt_and_is_dropped_without_one()
    {
        // selftest.c iommufd_test_trigger_iopf() (the device, then iommu_report_device_fault(), which answers
        // nothing), eventq.c iommufd_compose_fault_message(); iommufd_utils.h _test_cmd_trigger_iopf(). A fault
        // without a PASID goes to the RID's HWPT (io-pgfault.c find_fault_handler()); PasidTests has the PASID cases.
        using var fx = new MockFixture();
        var unattached = TriggerIopf(fx, fx.DevId, 0x1000, pasid: 0);
        var alloc = new IommuFaultAlloc();
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, ref alloc), "FAULT_QUEUE_ALLOC");
        MockFixture.Expect(fx.AllocHwpt(fx.DevId, fx.IoasId, IommuHwptAllocFlags.FaultIdValid, out uint hwpt, faultId: alloc.OutFaultId), "HWPT_ALLOC");
        MockFixture.Expect(fx.Attach(hwpt), "attach");
        var queued = TriggerIopf(fx, fx.DevId, 0x5000, pasid: 0);
        var record = new byte[System.Runtime.InteropServices.Marshal.SizeOf<IommuHwptPgfault>() * 2];
        MockFixture.Expect(fx.File.Read((int)alloc.OutFaultFd, record, out int read), "read");
        var fault = System.Runtime.InteropServices.MemoryMarshal.Read<IommuHwptPgfault>(record);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unattached, Is.EqualTo(Errno.Success), "no fault queue: dropped");
            Assert.That(TriggerIopf(fx, 999, 0x1000, pasid: 0), Is.EqualTo(Errno.ENOENT));
            Assert.That(queued, Is.EqualTo(Errno.Success));
            Assert.That(read, Is.EqualTo(record.Length / 2), "one fault, the one after the attach");
            Assert.That((fault.DevId, fault.Addr, fault.Pasid, fault.Grpid, fault.Perm), Is.EqualTo((fx.DevId, 0x5000ul, 0u, 3u, (uint)IommuHwptPgfaultPerm.Read)));
            Assert.That(fault.Flags, Is.EqualTo((uint)IommuHwptPgfaultFlags.LastPage), "no PASID: no PASID_VALID");
        }
    }

    [Test]
    public void Trigger_vevent_reports_the_virtual_id_to_the_vieventq_of_the_viommu_the_device_is_on()
    {
        // selftest.c iommufd_test_trigger_vevent(); selftest iommufd_viommu.vdevice_alloc (test_cmd_trigger_vevents,
        // test_cmd_read_vevents).
        using var fx = new MockFixture();
        var (_, viommu, nested) = fx.SetUpViommu();
        var notOnViommu = TriggerVevent(fx, fx.DevId);
        MockFixture.Expect(fx.AllocVdevice(viommu, fx.DevId, 0x99, out _), "VDEVICE_ALLOC");
        MockFixture.Expect(fx.Attach(nested), "attach");
        MockFixture.Expect(fx.AllocVeventq(viommu, IommuVeventqType.Selftest, 2, out _, out int fd), "VEVENTQ_ALLOC");
        var triggered = TriggerVevent(fx, fx.DevId);
        int sequence = -1;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(notOnViommu, Is.EqualTo(Errno.ENOENT));
            Assert.That(TriggerVevent(fx, 999), Is.EqualTo(Errno.ENOENT));
            Assert.That(triggered, Is.EqualTo(Errno.Success));
            Assert.That(fx.ReadVevents(fd, 1, 0x99, ref sequence), Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void Set_temp_memory_limit_refuses_a_limit_below_one_batch_element()
    {
        // selftest.c iommufd_test(): IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, below sizeof(unsigned long) + sizeof(u32).
        using var fx = new MockFixture();
        var small = new IommuTestCmd { Op = (uint)IommuTestOp.SetTempMemoryLimit, MemoryLimitLimit = 11 };
        var enough = small with { MemoryLimitLimit = 12 };
        Assert.Multiple(() =>
        {
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref small), Is.EqualTo(Errno.EINVAL));
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref enough), Is.EqualTo(Errno.Success));
        });
    }

    private const uint NoSuchIoas = 999;

    private static (Errno Rc, uint StdevId, uint HwptId, uint IdevId) MockDomain(MockFixture fx, uint ptId)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomain, Id = ptId };
        var rc = fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
        MockFixture.Expect(rc, "MOCK_DOMAIN");
        return (rc, cmd.MockDomainOutStdevId, cmd.MockDomainOutHwptId, cmd.MockDomainOutIdevId);
    }

    private static Errno CheckMap(MockFixture fx, uint hwptId, ulong iova, ulong length, ulong uptr)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.MdCheckMap, Id = hwptId, CheckMapIova = iova, CheckMapLength = length, CheckMapUptr = uptr };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }

    private static Errno AccessRw(MockFixture fx, int fd, ulong iova, ulong length, ulong uptr, bool write, uint flags = 0)
    {
        var cmd = new IommuTestCmd
        {
            Op = (uint)IommuTestOp.AccessRw, Id = (uint)fd, AccessRwIova = iova, AccessRwLength = length, AccessRwUptr = uptr,
            AccessRwFlags = flags | (write ? 1u : 0),
        };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }

    internal static int CreateAccess(MockFixture fx, uint ioas, bool needsPinPages, uint flags = 0)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = ioas, CreateAccessFlags = flags | (needsPinPages ? 1u : 0) };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd), "CREATE_ACCESS");
        return (int)cmd.CreateAccessOutAccessFd;
    }

    internal static Errno AccessPages(MockFixture fx, int fd, ulong iova, ulong length, ulong uptr, bool write, out uint id, uint flags = 0)
    {
        var cmd = new IommuTestCmd
        {
            Op = (uint)IommuTestOp.AccessPages, Id = (uint)fd, AccessPagesIova = iova, AccessPagesLength = length, AccessPagesUptr = uptr,
            AccessPagesFlags = flags | (write ? 1u : 0),
        };
        var rc = fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
        id = cmd.AccessPagesOutAccessPagesId;
        return rc;
    }

    internal static Errno DestroyAccessPages(MockFixture fx, int fd, uint id)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.DestroyAccessPages, Id = (uint)fd, DestroyAccessPagesAccessPagesId = id };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }

    internal static Errno TriggerIopf(MockFixture fx, uint devId, ulong addr, uint pasid)
    {
        var cmd = new IommuTestCmd
        {
            Op = (uint)IommuTestOp.TriggerIopf, TriggerIopfDevId = devId, TriggerIopfAddr = addr, TriggerIopfPasid = pasid,
            TriggerIopfGrpid = 3, TriggerIopfPerm = (uint)IommuHwptPgfaultPerm.Read,
        };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }

    private static Errno TriggerVevent(MockFixture fx, uint devId)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.TriggerVevent, TriggerVeventDevId = devId };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }

    private static Errno CheckRefs(MockFixture fx, ulong uptr, ulong length, uint refs)
    {
        var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.MdCheckRefs, CheckRefsUptr = uptr, CheckRefsLength = length, CheckRefsRefs = refs };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }

    private static Errno Check(MockFixture fx, IommuTestOp op, uint id, uint slot, uint value)
    {
        // check_iotlb and check_dev_cache share one layout: {id, value} after the header.
        var cmd = new IommuTestCmd { Op = (uint)op, Id = id, CheckIotlbId = slot, CheckIotlbIotlb = value };
        return fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
    }
}
