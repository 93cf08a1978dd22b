using System.Runtime.CompilerServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Cmdqv;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Iommufd.Tests.Core;

/// <summary>
/// The errno trace: with the file's logger at Debug, a refusal logs the command, the errno and why, naming the field
/// that caused it; with it off, a refusal formats nothing and allocates nothing.
/// </summary>
public class RefusalReasonTests
{
    private const ulong Page = PhysicalMemory.PageSize;

    [Test]
    public void Raw_refusals_name_the_kernel_command_the_errno_and_the_field()
    {
        var (host, logger) = TracedHost();
        using (host)
        {
            var small = new byte[12];
            small[0] = 4; // size 4: shorter than the first version of struct iommu_ioas_alloc
            host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, small);
            var destroy = new IommuDestroy { Id = 42 };
            host.File.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref destroy);
            Assert.That(host.File.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
            var map = new IommuIoasMap { IoasId = ioas, UserVa = 0x1000, Length = Page, Flags = (uint)IommuIoasMapFlags.FixedIova };
            host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref map);

            Assert.That(Messages(logger), Is.EqualTo(new[]
            {
                "IOMMU_IOAS_ALLOC: EINVAL, size 4 is below the 12 bytes of the struct's first version",
                "IOMMU_DESTROY: ENOENT, no object with ID 42",
                "IOMMU_IOAS_MAP: EINVAL, flags 0x1 give neither READABLE nor WRITEABLE",
            }));
        }
    }

    [Test]
    public void A_typed_call_is_named_by_its_method_and_a_refusal_deep_in_the_IOAS_gives_the_ranges()
    {
        var (host, logger) = TracedHost();
        using (host)
        {
            var region = host.Process.Map((long)(2 * Page));
            Assert.That(host.File.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
            ulong iova = 0x10000;
            Assert.That(host.File.IoasMap(ioas, region.Address, region.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable, ref iova), Is.EqualTo(Errno.Success));
            ulong again = 0x11000;
            ulong half = Page;

            using (Assert.EnterMultipleScope())
            {
                Assert.That(host.File.IoasMap(ioas, region.Address, Page, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable, ref again), Is.EqualTo(Errno.EEXIST));
                Assert.That(host.File.IoasUnmap(ioas, iova, ref half), Is.EqualTo(Errno.ENOENT));
                Assert.That(Messages(logger), Is.EqualTo(new[]
                {
                    "IoasMap: EEXIST, [0x11000, 0x11fff] overlaps the mapping at [0x10000, 0x11fff]",
                    "IoasUnmap: ENOENT, [0x10000, 0x10fff] cuts the mapping at [0x10000, 0x11fff]",
                }));
            }
        }
    }

    [Test]
    public void HWPT_and_vIOMMU_refusals_name_the_object_at_fault()
    {
        var logger = new FakeLogger();
        using var host = new TestHost(b => b.AddMockIommu().AddDevice("dev0", "mock0", 0x10).Services.AddSingleton<ILoggerFactory>(new OneLoggerFactory(logger)));
        Assert.That(host.File.BindDevice(host.Host.Platform.GetDevice("dev0"), out uint devId), Is.EqualTo(Errno.Success));
        Assert.That(host.File.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
        Assert.That(host.File.HwptAlloc(devId, ioas, IommuHwptAllocFlags.None, IommuHwptDataType.None, default, 0, out uint paging), Is.EqualTo(Errno.Success));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(host.File.HwptAlloc(devId, 99, IommuHwptAllocFlags.None, IommuHwptDataType.None, default, 0, out _), Is.EqualTo(Errno.EINVAL));
            Assert.That(host.File.ViommuAlloc(devId, paging, IommuViommuType.Selftest, default, out _), Is.EqualTo(Errno.EINVAL));
            uint pt = paging;
            Assert.That(host.File.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
            Assert.That(host.File.AttachDevice(devId, ref pt), Is.EqualTo(Errno.EINVAL));
            Assert.That(Messages(logger), Is.EqualTo(new[]
            {
                "HwptAlloc: EINVAL, pt_id 99 names no IOAS, HWPT or vIOMMU",
                $"ViommuAlloc: EINVAL, HWPT {paging} was not allocated with NEST_PARENT",
                $"AttachDevice: EINVAL, device {devId} is already attached: replace it",
            }));
        }
    }

    [TestCase(VcmdqBackend.Hardware)]
    [TestCase(VcmdqBackend.Software)]
    public void CMDQV_HW_queue_refusals_name_the_LVCMDQ_and_the_rule(VcmdqBackend backend)
    {
        var logger = new FakeLogger();
        using var rig = new CmdqvRig(backend, loggerFactory: new OneLoggerFactory(logger));
        using var vm = new CmdqvGuest(rig, "a", vsid: 5, asid: 3);
        ulong ipa = vm.Ram.Allocate(Page, Page);
        var file = vm.File;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(file.HwQueueAlloc(vm.ViommuId, IommuHwQueueType.Tegra241Cmdqv, 1, ipa, 1024, out _), Is.EqualTo(Errno.EIO));
            Assert.That(file.HwQueueAlloc(vm.ViommuId, IommuHwQueueType.Tegra241Cmdqv, 99, ipa, 1024, out _), Is.EqualTo(Errno.EINVAL));
            Assert.That(file.HwQueueAlloc(vm.ViommuId, IommuHwQueueType.Tegra241Cmdqv, 0, ipa, 1000, out _), Is.EqualTo(Errno.EINVAL));
            Assert.That(file.HwQueueAlloc(vm.ViommuId, IommuHwQueueType.Tegra241Cmdqv, 0, ipa, 1024, out _), Is.EqualTo(Errno.Success));
            Assert.That(file.HwQueueAlloc(vm.ViommuId, IommuHwQueueType.Tegra241Cmdqv, 0, ipa, 1024, out _), Is.EqualTo(Errno.EEXIST));
            ulong max = 1UL << (rig.Smmu.Probed.CmdqLog2Size + 4);
            Assert.That(Messages(logger).Where(m => m.StartsWith("HwQueueAlloc", StringComparison.Ordinal)), Is.EqualTo(new[]
            {
                "HwQueueAlloc: EIO, LVCMDQ 0 is not allocated: LVCMDQs are allocated in ascending order",
                $"HwQueueAlloc: EINVAL, index 99 is beyond the VINTF's {rig.Cmdqv.Features.LvcmdqsPerVintf} LVCMDQs",
                $"HwQueueAlloc: EINVAL, length 0x3e8 is not a power of two in [32, 0x{max:x}] bytes",
                $"HwQueueAlloc: EEXIST, LVCMDQ 0 of VINTF {vm.VintfIndex} is allocated already",
            }));
        }
    }

    [Test]
    public void A_refused_guest_invalidation_names_the_entry_and_the_field_as_SmmuCmd_check_does()
    {
        var logger = new FakeLogger();
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, loggerFactory: new OneLoggerFactory(logger));
        using var vm = new CmdqvGuest(rig, "a", vsid: 5, asid: 3);
        var entries = new byte[32];
        SmmuCommandBuilder.TlbiNhAsid(0, 3).Write(entries);
        SmmuCommandBuilder.TlbiNhVa(0, 3, 0x10_0000, leaf: true, ttl: 0, tg: 1, num: 0, scale: 0).Write(entries.AsSpan(16));
        uint entryNum = 2;

        var rc = vm.File.HwptInvalidate(vm.ViommuId, (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, 16, entries, ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rc, entryNum), Is.EqualTo((Errno.EIO, 1u)));
            Assert.That(Messages(logger).Where(m => m.StartsWith("HwptInvalidate", StringComparison.Ordinal)), Is.EqualTo(new[]
            {
                "HwptInvalidate: EIO, entry 1 (TLBI_NH_VA): NUM = SCALE = TTL = 0 with TG != 0 is Reserved (spec §4.4.1.1)",
            }));
        }
    }

    [Test]
    public void Copy_allow_iovas_option_mmap_and_event_fd_refusals_say_why()
    {
        var (host, logger) = TracedHost();
        using (host)
        {
            Assert.That(host.File.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
            ulong dst = 0;
            var copy = host.File.IoasCopy(ioas, ioas, Page, 0x10000, IommuIoasMapFlags.Readable, ref dst);
            var allow = host.File.IoasAllowIovas(ioas, [new IommuIovaRange { Start = 0x1000, Last = 0x1fff }, new IommuIovaRange { Start = 0x1800, Last = 0x2fff }]);
            var option = new IommuOption { OptionId = (uint)IommuOptionId.RlimitMode, Op = (ushort)IommuOptionOp.Set, Val64 = 1 };
            var busy = host.File.Ioctl(IommufdIoctl.IOMMU_OPTION, ref option);
            var mmap = host.File.Mmap(0, Page, MmapProtection.Read | MmapProtection.Shared, out _);
            var exec = host.File.Mmap(0, Page, MmapProtection.Exec | MmapProtection.Shared, out _);
            Assert.That(host.File.FaultQueueAlloc(out _, out int fd), Is.EqualTo(Errno.Success));
            var write = host.File.Write(fd, new byte[Unsafe.SizeOf<IommuHwptPageResponse>()], out _);

            using (Assert.EnterMultipleScope())
            {
                Assert.That((copy, allow, busy, mmap, exec, write), Is.EqualTo((Errno.ENOENT, Errno.EINVAL, Errno.EBUSY, Errno.ENXIO, Errno.EPERM, Errno.EINVAL)));
                Assert.That(Messages(logger), Is.EqualTo(new[]
                {
                    "IoasCopy: ENOENT, [0x10000, + 0x1000) is not mapped without a gap in the source IOAS",
                    "IoasAllowIovas: EINVAL, allowed_iovas[1] [0x1800, 0x2fff] is empty or overlaps one before it",
                    "IOMMU_OPTION: EBUSY, RLIMIT_MODE is set only before the file holds an object (1 now)",
                    "Mmap: ENXIO, no region is registered at offset 0x0 with length 0x1000",
                    "Mmap: EPERM, the mapping asks for PROT_EXEC",
                    "Write: EINVAL, response code 0 or cookie 0: no fault awaits it",
                }));
            }
        }
    }

    [Test]
    public void The_mocks_test_cmd_refusals_name_the_op_and_the_field()
    {
        var logger = new FakeLogger();
        using var host = new TestHost(b => b.AddMockIommu().AddDevice("dev0", "mock0", 0x10).Services.AddSingleton<ILoggerFactory>(new OneLoggerFactory(logger)));
        var region = host.Process.Map((long)Page);
        var refs = new IommuTestCmd { Op = (uint)IommuTestOp.MdCheckRefs, CheckRefsUptr = region.Address, CheckRefsLength = Page, CheckRefsRefs = 1 };
        var flags = new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainFlags, Id = 1, MockDomainFlagsDevFlags = 1u << 5 };
        var access = new IommuTestCmd { Op = (uint)IommuTestOp.AccessRw, Id = 7, AccessRwLength = Page };
        var unknown = new IommuTestCmd { Op = 99 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, ref refs), Is.EqualTo(Errno.EIO));
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, ref flags), Is.EqualTo(Errno.EINVAL));
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, ref access), Is.EqualTo(Errno.EBADFD));
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_TEST_CMD, ref unknown), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(Messages(logger), Is.EqualTo(new[]
            {
                $"IOMMU_TEST_CMD: EIO, MD_CHECK_REFS: the page at uptr 0x{region.Address:x} has 0 pins, not 1",
                "IOMMU_TEST_CMD: EINVAL, MOCK_DOMAIN_FLAGS: dev_flags 0x20 has bits other than NO_DIRTY, HUGE_IOVA and PASID",
                "IOMMU_TEST_CMD: EBADFD, fd 7 is not an access made by CREATE_ACCESS",
                "IOMMU_TEST_CMD: EOPNOTSUPP, op 99 is not an IOMMU_TEST_OP the mock serves",
            }));
        }
    }

    [Test]
    public void With_the_trace_off_a_refusal_allocates_nothing()
    {
        using var host = new TestHost(); // no logger factory: the core's loggers are off
        var destroy = new IommuDestroy { Id = 42 };
        long allocated = AllocationProbe.SteadyStateBytes(() => host.File.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref destroy));
        Assert.That(allocated, Is.Zero);
    }

    private static (TestHost Host, FakeLogger Logger) TracedHost()
    {
        var logger = new FakeLogger();
        var host = new TestHost(b => b.Services.AddSingleton<ILoggerFactory>(new OneLoggerFactory(logger)));
        return (host, logger);
    }

    private static string[] Messages(FakeLogger logger) =>
        [.. logger.Collector.GetSnapshot().Where(r => r.Id.Id == 10).Select(r => r.Message)];

    /// <summary>Every category logs to one fake logger.</summary>
    private sealed class OneLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => logger;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }
}
