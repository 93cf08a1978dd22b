using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>
/// The config space of a device node (region 7) through <see cref="VfioDeviceFile.ReadWrite"/>, the pread/pwrite
/// entry point: its contents by the PCI and PCI Express specs, the write masks, and vfio_pci_config_rw's errnos.
/// </summary>
public class VfioConfigSpaceTests
{
    private const ulong Config = (ulong)VfioIoctl.VFIO_PCI_CONFIG_REGION_INDEX << VfioIoctl.VFIO_PCI_OFFSET_SHIFT;

    private TestHost _host = null!;
    private UserRegion _buffer = null!;

    [SetUp]
    public void SetUp()
    {
        _host = new TestHost(b => b.AddMockIommu().AddDevice("plain", "mock0", streamId: 0x10).AddDevice("ats", "mock0", streamId: 0x11, atsCapable: true));
        _buffer = _host.Process.Map(2 * PciConfigSpace.Size);
    }

    [TearDown]
    public void TearDown() => _host.Dispose();

    [Test]
    public void The_header_and_the_PCI_Express_capability_are_those_of_an_endpoint_with_BAR0()
    {
        using var vfio = Open("plain");
        var space = ReadAll(vfio);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(U16(space, 0x00), Is.EqualTo(PciConfigSpace.VendorId));
            Assert.That(U16(space, 0x02), Is.EqualTo(PciConfigSpace.DeviceId));
            Assert.That(U16(space, 0x06) & 0x10, Is.EqualTo(0x10), "status: capabilities list");
            Assert.That(U32(space, 0x08) >> 8, Is.EqualTo(PciConfigSpace.ClassCode));
            Assert.That(space[0x0E], Is.Zero, "header type 0, single function");
            Assert.That(U32(space, 0x10), Is.Zero, "BAR0: 32-bit memory, not prefetchable");
            Assert.That(U32(space, 0x14), Is.Zero, "BAR1 unimplemented");
            Assert.That(space[0x34], Is.EqualTo(0x40), "capabilities pointer");
            Assert.That(space[0x3D], Is.Zero, "no interrupt pin");
            Assert.That(space[0x40], Is.EqualTo(PciConfigSpace.CapIdExpress));
            Assert.That(space[0x41], Is.Zero, "the last capability");
            Assert.That(U16(space, 0x42) & 0xF, Is.EqualTo(2), "PCI Express capability version 2");
            Assert.That((U16(space, 0x42) >> 4) & 0xF, Is.Zero, "device/port type: endpoint");
            Assert.That(U32(space, 0x100), Is.Zero, "no extended capabilities on a device without ATS");
        }
    }

    [Test]
    public void An_ATS_capable_device_has_the_ATS_extended_capability_at_0x100_and_no_PASID_as_vfio_hides_it()
    {
        using var vfio = Open("ats");
        var space = ReadAll(vfio);
        uint header = U32(space, 0x100);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(header & 0xFFFF, Is.EqualTo(PciConfigSpace.ExtCapIdAts));
            Assert.That((header >> 16) & 0xF, Is.EqualTo(1u), "version 1");
            Assert.That(header >> 20, Is.Zero, "the last extended capability: no PASID (0x1B) follows");
            Assert.That(U16(space, 0x104) & (1 << 5), Is.Not.Zero, "page aligned requests");
        }
    }

    [Test]
    public void Writes_change_only_writable_bits_and_BAR0_sizing_reads_back_its_size()
    {
        using var vfio = Open("ats");
        Write(vfio, 0x00, [0xFF, 0xFF, 0xFF, 0xFF]);
        Write(vfio, 0x04, [0xFF, 0xFF, 0xFF, 0xFF]);
        Write(vfio, 0x10, [0xFF, 0xFF, 0xFF, 0xFF]);
        uint sized = U32(ReadAll(vfio), 0x10);
        Write(vfio, 0x10, [0x00, 0x10, 0x00, 0xFE]);
        Write(vfio, 0x106, [0xFF, 0xFF]);
        var space = ReadAll(vfio);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(U16(space, 0x00), Is.EqualTo(PciConfigSpace.VendorId), "vendor ID is read-only");
            Assert.That(U16(space, 0x04), Is.EqualTo(0x0546), "command: memory, master, parity, SERR, INTx disable");
            Assert.That(U16(space, 0x06), Is.EqualTo(0x0010), "status is unchanged");
            Assert.That(sized, Is.EqualTo(0xFFFF_F000u), "all ones read back as ~(4 KiB - 1)");
            Assert.That(U32(space, 0x10), Is.EqualTo(0xFE00_1000u));
            Assert.That(U16(space, 0x106), Is.Zero, "ATS control is read-only through vfio");
        }
    }

    [Test]
    public void Reads_and_writes_follow_vfio_pci_config_rw_errnos()
    {
        using var unbound = new VfioDeviceFile(_host.Host.Platform.GetDevice("plain"), _host.Process, new OneIommufdFd(_host.File));
        long beforeBind = unbound.ReadWrite(Config, _buffer.Address, 4, write: false);
        using var vfio = Open("plain");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(beforeBind, Is.EqualTo(-(long)Errno.EINVAL), "access not granted");
            Assert.That(vfio.ReadWrite(Config + PciConfigSpace.Size - 1, _buffer.Address, 2, write: false), Is.EqualTo(-(long)Errno.EFAULT), "past the end");
            Assert.That(vfio.ReadWrite(Config + PciConfigSpace.Size, _buffer.Address, 1, write: false), Is.EqualTo(-(long)Errno.EFAULT), "at the end");
            Assert.That(vfio.ReadWrite(Config + PciConfigSpace.Size, _buffer.Address, 0, write: false), Is.Zero, "nothing to move");
            Assert.That(vfio.ReadWrite(Config, 0x10, 4, write: false), Is.EqualTo(-(long)Errno.EFAULT), "unmapped buffer");
            Assert.That(vfio.ReadWrite(0, _buffer.Address, 4, write: false), Is.EqualTo(-(long)Errno.EINVAL), "BAR0 is not read this way");
            Assert.That(vfio.ReadWrite(Config + 1, _buffer.Address, 3, write: false), Is.EqualTo(3), "unaligned: chunks of 1 and 2");
            Assert.That(_buffer.Span[0], Is.EqualTo((byte)(PciConfigSpace.VendorId >> 8)));
        }
    }

    [Test]
    public void A_write_whose_buffer_faults_part_way_applies_the_chunks_before_the_fault_and_is_EFAULT()
    {
        using var vfio = Open("plain");
        ulong tail = _buffer.Address + _buffer.Length - 4; // 4 readable bytes, then the guard page
        _buffer.Span[^4..].Fill(0x20);
        long rc = vfio.ReadWrite(Config + 0x0C, tail, 8, write: true); // cache line size .. BAR0
        var space = ReadAll(vfio);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(-(long)Errno.EFAULT));
            Assert.That(space[0x0C], Is.EqualTo(0x20), "the first chunk landed");
            Assert.That(U32(space, 0x10), Is.Zero, "the chunk from the fault on did not");
        }
    }

    [Test]
    public void The_region_info_of_the_config_space_is_4_KiB_readable_and_writable_at_index_7()
    {
        using var vfio = Open("plain");
        var info = new VfioRegionInfo { Argsz = 32, Index = VfioIoctl.VFIO_PCI_CONFIG_REGION_INDEX };
        MemoryMarshal.Write(_buffer.Span, in info);
        Assert.That(vfio.Ioctl(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO, _buffer.Address), Is.EqualTo(Errno.Success));
        info = MemoryMarshal.Read<VfioRegionInfo>(_buffer.Span);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(info.Size, Is.EqualTo((ulong)PciConfigSpace.Size));
            Assert.That(info.Flags, Is.EqualTo(VfioIoctl.VFIO_REGION_INFO_FLAG_READ | VfioIoctl.VFIO_REGION_INFO_FLAG_WRITE));
            Assert.That(info.Offset, Is.EqualTo(Config));
        }
    }

    private static ushort U16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));

    private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    private VfioDeviceFile Open(string device)
    {
        var vfio = new VfioDeviceFile(_host.Host.Platform.GetDevice(device), _host.Process, new OneIommufdFd(_host.File));
        var bind = new VfioDeviceBindIommufd { Argsz = 16, Iommufd = OneIommufdFd.DefaultNumber };
        MemoryMarshal.Write(_buffer.Span, in bind);
        Assert.That(vfio.Ioctl(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD, _buffer.Address), Is.EqualTo(Errno.Success));
        return vfio;
    }

    private byte[] ReadAll(VfioDeviceFile vfio)
    {
        Assert.That(vfio.ReadWrite(Config, _buffer.Address, PciConfigSpace.Size, write: false), Is.EqualTo(PciConfigSpace.Size));
        return _buffer.Span[..PciConfigSpace.Size].ToArray();
    }

    private void Write(VfioDeviceFile vfio, int at, byte[] bytes)
    {
        bytes.CopyTo(_buffer.Span);
        Assert.That(vfio.ReadWrite(Config + (ulong)at, _buffer.Address, (ulong)bytes.Length, write: true), Is.EqualTo(bytes.Length));
    }
}
