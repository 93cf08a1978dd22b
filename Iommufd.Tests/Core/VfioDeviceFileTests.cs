using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Support;
using Microsoft.Extensions.Logging.Testing;

namespace Iommufd.Tests.Core;

/// <summary>
/// The VFIO device cdev (<see cref="VfioDeviceFile"/>) through its raw entry point: drivers/vfio/device_cdev.c,
/// vfio_main.c and vfio_pci_core.c give the rules and errnos.
/// </summary>
public class VfioDeviceFileTests
{
    private const int IommuFd = 3;
    private const int OtherFd = 4;

    private TestHost _host = null!;
    private FdTable _fds = null!;
    private UserRegion _region = null!;
    private VfioDeviceFile _vfio = null!;
    private uint _ioasId;

    [SetUp]
    public void SetUp()
    {
        _host = new TestHost(b => b.AddMockIommu().AddDevice("dev0", "mock0", streamId: 0x10).AddDevice("dev1", "mock0", streamId: 0x11));
        _fds = new FdTable(_host.File);
        _region = _host.Process.Map(4096);
        _vfio = new VfioDeviceFile(_host.Host.Platform.GetDevice("dev0"), _host.Process, _fds);
        var alloc = new IommuIoasAlloc { Size = 12 };
        Assert.That(_host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc), Is.EqualTo(Errno.Success));
        _ioasId = alloc.OutIoasId;
    }

    [TearDown]
    public void TearDown()
    {
        _vfio.Dispose();
        _host.Dispose();
    }

    [Test]
    public void Every_ioctl_but_bind_is_EINVAL_before_the_device_is_bound()
    {
        var info = new VfioDeviceInfo { Argsz = 24 };
        var attach = new VfioDeviceAttachIommufdPt { Argsz = 16, PtId = _ioasId };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_GET_INFO, ref info), Is.EqualTo(Errno.EINVAL));
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref attach), Is.EqualTo(Errno.EINVAL));
            Assert.That(Call(0x3b7f, ref info), Is.EqualTo(Errno.EINVAL), "vfio_main checks access before the request");
        }
    }

    [Test]
    public void Bind_returns_a_device_id_the_iommufd_knows_and_a_second_bind_is_EINVAL()
    {
        var bind = new VfioDeviceBindIommufd { Argsz = 16, Iommufd = IommuFd };
        var rc = Call(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, ref bind);
        var again = bind;
        var second = Call(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, ref again);
        var destroy = new IommuDestroy { Size = 8, Id = bind.OutDevid };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(bind.OutDevid, Is.Not.Zero);
            Assert.That(second, Is.EqualTo(Errno.EINVAL));
            Assert.That(_host.File.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref destroy), Is.EqualTo(Errno.EBUSY), "a bound device is not destroyable");
            Assert.That(_fds.References, Is.EqualTo(1), "the binding holds the iommufd");
        }
    }

    [TestCase(15, 0, IommuFd, Errno.EINVAL)]
    [TestCase(16, 1, IommuFd, Errno.EINVAL)]
    [TestCase(16, 0, -1, Errno.EINVAL)]
    [TestCase(16, 0, 99, Errno.EBADF)]
    [TestCase(16, 0, OtherFd, Errno.EBADFD)]
    public void Bind_refuses_bad_arguments_with_the_kernels_errno(int argsz, int flags, int fd, Errno expected)
    {
        var bind = new VfioDeviceBindIommufd { Argsz = (uint)argsz, Flags = (uint)flags, Iommufd = fd };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, ref bind), Is.EqualTo(expected));
            Assert.That(bind.OutDevid, Is.Zero);
            Assert.That(_fds.References, Is.Zero);
            Assert.That(_vfio.Iommufd, Is.Null);
        }
    }

    [Test]
    public void A_device_bound_through_another_device_file_is_EINVAL_as_vfio_df_open_answers()
    {
        Bind();
        using var other = new VfioDeviceFile(_vfio.Device, _host.Process, _fds);
        var bind = new VfioDeviceBindIommufd { Argsz = 16, Iommufd = IommuFd };
        var region = _host.Process.Map(4096);
        MemoryMarshal.Write(region.Span, in bind);

        Assert.That(other.Ioctl(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, region.Address), Is.EqualTo(Errno.EINVAL));
        Assert.That(_fds.References, Is.EqualTo(1));
    }

    [Test]
    public void Bind_with_an_unreadable_argument_is_EFAULT()
    {
        Assert.That(_vfio.Ioctl(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, 0x10), Is.EqualTo(Errno.EFAULT));
    }

    [Test]
    public void Attach_to_an_IOAS_returns_the_automatic_domain_and_a_second_attach_replaces()
    {
        Bind();
        var attach = new VfioDeviceAttachIommufdPt { Argsz = 12, PtId = _ioasId };
        var first = Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref attach);
        uint autoDomain = attach.PtId;
        var hwpt = new IommuHwptAlloc { Size = 56, DevId = Bound, PtId = _ioasId };
        Assert.That(_host.File.Ioctl(IommufdIoctl.IOMMU_HWPT_ALLOC, ref hwpt), Is.EqualTo(Errno.Success));
        var replace = new VfioDeviceAttachIommufdPt { Argsz = 12, PtId = hwpt.OutHwptId };
        var second = Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref replace);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(Errno.Success));
            Assert.That(autoDomain, Is.Not.EqualTo(_ioasId), "pt_id comes back as the HWPT");
            Assert.That(second, Is.EqualTo(Errno.Success));
            Assert.That(replace.PtId, Is.EqualTo(hwpt.OutHwptId));
        }
    }

    [Test]
    public void Attach_checks_argsz_flags_and_the_page_table_id()
    {
        Bind();
        var shortArg = new VfioDeviceAttachIommufdPt { Argsz = 11, PtId = _ioasId };
        var badFlags = new VfioDeviceAttachIommufdPt { Argsz = 16, Flags = 2, PtId = _ioasId };
        var pasidShort = new VfioDeviceAttachIommufdPt { Argsz = 12, Flags = VfioIoctl.VFIO_DEVICE_PASID, PtId = _ioasId };
        var pasid = new VfioDeviceAttachIommufdPt { Argsz = 16, Flags = VfioIoctl.VFIO_DEVICE_PASID, PtId = _ioasId, Pasid = 1 };
        var unknown = new VfioDeviceAttachIommufdPt { Argsz = 12, PtId = 999 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref shortArg), Is.EqualTo(Errno.EINVAL));
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref badFlags), Is.EqualTo(Errno.EINVAL));
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref pasidShort), Is.EqualTo(Errno.EINVAL));
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref pasid), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref unknown), Is.EqualTo(Errno.ENOENT));
            Assert.That(unknown.PtId, Is.EqualTo(999u), "nothing written back on failure");
        }
    }

    [Test]
    public void Detach_succeeds_attached_or_not_and_leaves_the_device_blocked()
    {
        Bind();
        var detach = new VfioDeviceDetachIommufdPt { Argsz = 8 };
        var before = Call(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, ref detach);
        var attach = new VfioDeviceAttachIommufdPt { Argsz = 12, PtId = _ioasId };
        Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref attach), Is.EqualTo(Errno.Success));
        var after = Call(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, ref detach);
        var autoDomain = new IommuDestroy { Size = 8, Id = attach.PtId };
        var shortArg = new VfioDeviceDetachIommufdPt { Argsz = 7 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.EqualTo(Errno.Success));
            Assert.That(after, Is.EqualTo(Errno.Success));
            Assert.That(_host.File.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref autoDomain), Is.EqualTo(Errno.ENOENT), "the automatic domain went with the detach");
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, ref shortArg), Is.EqualTo(Errno.EINVAL));
        }
    }

    [Test]
    public void Get_info_describes_a_pci_function_and_copies_back_at_most_argsz_bytes()
    {
        Bind();
        var full = new VfioDeviceInfo { Argsz = 24, CapOffset = 0xAAAA, Pad = 0xBBBB };
        var rc = Call(VfioIoctl.VFIO_DEVICE_GET_INFO, ref full);
        var shortArg = new VfioDeviceInfo { Argsz = 16, CapOffset = 0xAAAA };
        var rcShort = Call(VfioIoctl.VFIO_DEVICE_GET_INFO, ref shortArg);
        var tooShort = new VfioDeviceInfo { Argsz = 15 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(full.Flags, Is.EqualTo(VfioIoctl.VFIO_DEVICE_FLAGS_PCI));
            Assert.That(full.NumRegions, Is.EqualTo(9u));
            Assert.That(full.NumIrqs, Is.EqualTo(5u));
            Assert.That(full.CapOffset, Is.Zero, "the fields past num_irqs come back zeroed");
            Assert.That(full.Pad, Is.Zero);
            Assert.That(rcShort, Is.EqualTo(Errno.Success));
            Assert.That(shortArg.CapOffset, Is.EqualTo(0xAAAAu), "nothing past argsz is written");
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_GET_INFO, ref tooShort), Is.EqualTo(Errno.EINVAL));
        }
    }

    [TestCase(0u, 4096ul, VfioIoctl.VFIO_REGION_INFO_FLAG_READ | VfioIoctl.VFIO_REGION_INFO_FLAG_WRITE | VfioIoctl.VFIO_REGION_INFO_FLAG_MMAP)]
    [TestCase(1u, 0ul, 0u)]
    [TestCase(5u, 0ul, 0u)]
    [TestCase(6u, 0ul, 0u)]
    [TestCase(7u, 4096ul, VfioIoctl.VFIO_REGION_INFO_FLAG_READ | VfioIoctl.VFIO_REGION_INFO_FLAG_WRITE)]
    public void Region_info_gives_each_regions_size_flags_and_fd_offset(uint index, ulong size, uint flags)
    {
        Bind();
        var info = new VfioRegionInfo { Argsz = 32, Index = index, Size = 0xDEAD, Offset = 0xBEEF };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, ref info), Is.EqualTo(Errno.Success));
            Assert.That(info.Size, Is.EqualTo(size));
            Assert.That(info.Flags, Is.EqualTo(flags));
            Assert.That(info.Offset, Is.EqualTo((ulong)index << 40));
        }
    }

    [TestCase(8u, 32u)]
    [TestCase(9u, 32u)]
    [TestCase(7u, 31u)]
    public void Region_info_without_vga_or_with_a_short_struct_is_EINVAL(uint index, uint argsz)
    {
        Bind();
        var info = new VfioRegionInfo { Argsz = argsz, Index = index };
        Assert.That(Call(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, ref info), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Only_BAR0_maps_shared_within_its_4_KiB_and_only_once_bound()
    {
        var before = _vfio.Mmap(0, 4096, MmapProtection.ReadWriteShared, out _);
        Bind();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.EqualTo(Errno.EINVAL), "vfio_device_fops_mmap: access not granted");
            Assert.That(_vfio.Mmap(0, 4096, MmapProtection.ReadWriteShared, out var region), Is.EqualTo(Errno.Success));
            Assert.That(region, Is.SameAs(_vfio.Dma));
            Assert.That(_vfio.Mmap(0, 4096, MmapProtection.Read | MmapProtection.Write, out _), Is.EqualTo(Errno.EINVAL), "private");
            Assert.That(_vfio.Mmap(0, 8192, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.EINVAL), "beyond the BAR");
            Assert.That(_vfio.Mmap(1UL << 40, 4096, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.EINVAL), "BAR1 is empty");
            Assert.That(_vfio.Mmap(7UL << 40, 4096, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.EINVAL), "config space");
        }
    }

    [Test]
    public void The_DMA_engine_copies_through_the_attachment_and_reports_a_fault_without_writing()
    {
        const ulong Iova = 1UL << 24; // inside the mock's aperture
        Bind();
        var ram = _host.Process.Map(2 * 4096);
        ram.Span[..4096].Fill(0xA5);
        ulong iova = Iova;
        Assert.That(_host.File.IoasMap(_ioasId, ram.Address, 2 * 4096, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
        var dma = _vfio.Dma;
        uint blocked = Copy(dma, Iova, Iova + 4096, 4096);
        var attach = new VfioDeviceAttachIommufdPt { Argsz = 12, PtId = _ioasId };
        Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref attach), Is.EqualTo(Errno.Success));
        uint done = Copy(dma, Iova, Iova + 4096, 4096);
        bool copied = !ram.Span[4096..].ContainsAnyExcept((byte)0xA5);
        ram.Span[4096..].Clear();
        uint fault = Copy(dma, 0x9000_0000, Iova + 4096, 64);
        uint badLength = Copy(dma, Iova, Iova + 4096, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(blocked, Is.EqualTo(3u), "not attached: blocked");
            Assert.That(done, Is.Zero);
            Assert.That(copied, Is.True);
            Assert.That(fault, Is.EqualTo(1u), "translation fault");
            Assert.That(ram.Span[4096..].ContainsAnyExcept((byte)0), Is.False, "a faulting copy writes nothing");
            Assert.That(badLength, Is.EqualTo(DmaEngine.StatusBadLength));
            Assert.That((uint)dma.Read(DmaEngine.COUNT, 4), Is.EqualTo(4u));
            Assert.That(dma.Read(DmaEngine.GO, 4), Is.Zero, "GO reads as 0");
        }
    }

    /// <summary>Programs a copy with 32-bit stores, as a program's plain stores reach the engine, and returns STATUS.</summary>
    private static uint Copy(DmaEngine dma, ulong src, ulong dst, uint length)
    {
        dma.Write(DmaEngine.SRC, 4, (uint)src);
        dma.Write(DmaEngine.SRC + 4, 4, src >> 32);
        dma.Write(DmaEngine.DST, 8, dst);
        dma.Write(DmaEngine.LEN, 4, length);
        dma.Write(DmaEngine.GO, 4, 1);
        return (uint)dma.Read(DmaEngine.STATUS, 4);
    }

    [Test]
    public void Refusals_name_the_device_command_and_the_field_in_the_errno_trace()
    {
        var logger = new FakeLogger();
        using var vfio = new VfioDeviceFile(_host.Host.Platform.GetDevice("dev1"), _host.Process, _fds, logger);
        var info = new VfioDeviceInfo { Argsz = 24 };
        MemoryMarshal.Write(_region.Span, in info);
        var unbound = vfio.Ioctl(VfioIoctl.VFIO_DEVICE_GET_INFO, _region.Address);
        var bind = new VfioDeviceBindIommufd { Argsz = 16, Iommufd = IommuFd };
        MemoryMarshal.Write(_region.Span, in bind);
        Assert.That(vfio.Ioctl(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, _region.Address), Is.EqualTo(Errno.Success));
        var detach = new VfioDeviceDetachIommufdPt { Argsz = 7 };
        MemoryMarshal.Write(_region.Span, in detach);
        var shortDetach = vfio.Ioctl(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT, _region.Address);
        var attach = new VfioDeviceAttachIommufdPt { Argsz = 16, Flags = VfioIoctl.VFIO_DEVICE_PASID, PtId = _ioasId };
        MemoryMarshal.Write(_region.Span, in attach);
        var pasid = vfio.Ioctl(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, _region.Address);
        var region = new VfioRegionInfo { Argsz = 32, Index = 8 };
        MemoryMarshal.Write(_region.Span, in region);
        var vga = vfio.Ioctl(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, _region.Address);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((unbound, shortDetach, pasid, vga), Is.EqualTo((Errno.EINVAL, Errno.EINVAL, Errno.EOPNOTSUPP, Errno.EINVAL)));
            Assert.That(logger.Collector.GetSnapshot().Where(r => r.Id.Id == 10).Select(r => r.Message), Is.EqualTo(new[]
            {
                "VFIO_DEVICE_GET_INFO: EINVAL, the device is not bound to an iommufd yet",
                "VFIO_DEVICE_DETACH_IOMMUFD_PT: EINVAL, argsz 7 is below 8",
                "VFIO_DEVICE_ATTACH_IOMMUFD_PT: EOPNOTSUPP, the device has no PASID support",
                "VFIO_DEVICE_GET_REGION_INFO: EINVAL, region 8 does not exist (no VGA, no device-specific regions)",
            }));
        }
    }

    [Test]
    public void An_unknown_request_on_a_bound_device_is_ENOTTY()
    {
        Bind();
        var info = new VfioDeviceInfo { Argsz = 24 };
        Assert.That(Call(0x3b7f, ref info), Is.EqualTo(Errno.ENOTTY));
    }

    [Test]
    public void Close_detaches_unbinds_and_releases_the_iommufd()
    {
        Bind();
        var attach = new VfioDeviceAttachIommufdPt { Argsz = 12, PtId = _ioasId };
        Assert.That(Call(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT, ref attach), Is.EqualTo(Errno.Success));
        int objectsBound = _host.File.ObjectCount;

        _vfio.Dispose();
        var info = new VfioDeviceInfo { Argsz = 24 };

        using (Assert.EnterMultipleScope())
        {
            Assert.That(objectsBound, Is.EqualTo(3), "IOAS, device, automatic domain");
            Assert.That(_host.File.ObjectCount, Is.EqualTo(1), "only the IOAS is left");
            Assert.That(_fds.References, Is.Zero);
            Assert.That(Call(VfioIoctl.VFIO_DEVICE_GET_INFO, ref info), Is.EqualTo(Errno.EBADF));
            Assert.That(_host.File.BindDevice(_vfio.Device, out _), Is.EqualTo(Errno.Success), "the device is free again");
        }
    }

    private uint Bound { get; set; }

    private void Bind()
    {
        var bind = new VfioDeviceBindIommufd { Argsz = 16, Iommufd = IommuFd };
        Assert.That(Call(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, ref bind), Is.EqualTo(Errno.Success));
        Bound = bind.OutDevid;
    }

    /// <summary>The ioctl with <paramref name="arg"/> placed in user memory, and its bytes read back.</summary>
    private Errno Call<T>(uint request, ref T arg)
        where T : unmanaged
    {
        MemoryMarshal.Write(_region.Span, in arg);
        var rc = _vfio.Ioctl(request, _region.Address);
        arg = MemoryMarshal.Read<T>(_region.Span);
        return rc;
    }

    /// <summary>fd 3 is the test's /dev/iommu, fd 4 some other open file, anything else closed.</summary>
    private sealed class FdTable(IommufdFile file) : IIommufdFdTable
    {
        public int References { get; private set; }

        public Errno Acquire(int fd, out IommufdFile acquired)
        {
            acquired = null!;
            switch (fd)
            {
                case IommuFd:
                    acquired = file;
                    References++;
                    return Errno.Success;
                case OtherFd:
                    return Errno.EBADFD;
                default:
                    return Errno.EBADF;
            }
        }

        public void Release(IommufdFile released) => References--;
    }
}
