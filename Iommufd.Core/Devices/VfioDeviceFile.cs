using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iommufd.Core.Devices;

/// <summary>
/// One open <c>/dev/vfio/devices/vfioN</c> of a platform device: the VFIO device cdev a VMM uses with iommufd.
/// <see cref="Ioctl"/> takes the Linux request numbers and struct bytes at a user address; binding and attaching
/// go through the same <see cref="IommufdFile"/> calls the C# API uses (<see cref="DeviceCommands.BindDevice"/>,
/// <see cref="DeviceCommands.AttachDevice"/>, <see cref="DeviceCommands.ReplaceDevice"/>,
/// <see cref="DeviceCommands.DetachDevice"/>, <see cref="DeviceCommands.UnbindDevice"/>).
/// </summary>
/// <remarks>
/// The device looks like a vfio-pci PCIe function whose BAR0 (4 KiB, mmappable) holds the test
/// <see cref="DmaEngine"/>; its config space (<see cref="PciConfigSpace"/>) is region 7, read and written with
/// <see cref="ReadWrite"/> (pread/pwrite); the other BARs and
/// the ROM are empty regions; no VGA, no PASID support. Other device ioctls (VFIO_DEVICE_FEATURE, RESET, IRQs) are
/// ENOTTY. Closing (<see cref="Dispose"/>) unbinds as
/// vfio_df_unbind_iommufd (drivers/vfio/device_cdev.c) does: detach, unbind, then the iommufd reference goes.
/// </remarks>
public sealed class VfioDeviceFile : IDisposable
{
    private readonly IIommufdFdTable _fds;
    private readonly ILogger _logger;
    private readonly Lock _lock = new(); // the device set's lock: guards _iommufd, _devId, _attached
    private IommufdFile? _iommufd;
    private uint _devId;
    private bool _attached;
    private int _closed;

    /// <summary>
    /// A device file of <paramref name="device"/> opened by the process whose memory is <paramref name="memory"/>;
    /// <paramref name="fds"/> resolves the /dev/iommu fd of a bind. Refusals are logged to
    /// <paramref name="logger"/> (the errno trace, <see cref="Refusal"/>) when its Debug level is on.
    /// </summary>
    public VfioDeviceFile(EndpointDevice device, UserMemory memory, IIommufdFdTable fds, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(fds);
        Device = device;
        Memory = memory;
        _fds = fds;
        _logger = logger ?? NullLogger.Instance;
        Dma = new DmaEngine(device);
        Config = new PciConfigSpace(device, Dma.Length);
    }

    /// <summary>Region 7: the device's PCI Express config space.</summary>
    public PciConfigSpace Config { get; }

    /// <summary>BAR0: the device's DMA engine.</summary>
    public DmaEngine Dma { get; }

    /// <summary>The platform device behind the node.</summary>
    public EndpointDevice Device { get; }

    /// <summary>The address space of the process that opened the node: user pointers resolve against it.</summary>
    public UserMemory Memory { get; }

    /// <summary>The iommufd the device is bound to, or null before VFIO_DEVICE_BIND_IOMMUFD.</summary>
    public IommufdFile? Iommufd => Volatile.Read(ref _iommufd);

    /// <summary>
    /// ioctl(2) on the device fd with the argument at <paramref name="argumentAddress"/> in <see cref="Memory"/>.
    /// </summary>
    public Errno Ioctl(uint request, ulong argumentAddress)
    {
        using var trace = Refusal.Enter(_logger, CommandName(request));
        if (Volatile.Read(ref _closed) != 0)
        {
            return Refusal.Because(Errno.EBADF, $"the device file is closed");
        }

        Memory.BeginCall();
        if (request == VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD)
        {
            return Bind(argumentAddress);
        }

        // vfio_device_fops_unl_ioctl (drivers/vfio/vfio_main.c): nothing but BIND before access is granted.
        if (Iommufd is null)
        {
            return Refusal.Because(Errno.EINVAL, $"the device is not bound to an iommufd yet");
        }

        return request switch
        {
            VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT => Attach(argumentAddress),
            VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT => Detach(argumentAddress),
            VfioIoctl.VFIO_DEVICE_GET_INFO => GetInfo(argumentAddress),
            VfioIoctl.VFIO_DEVICE_GET_REGION_INFO => GetRegionInfo(argumentAddress),
            _ => Refusal.Because(Errno.ENOTTY, $"request 0x{request:x} is not a device ioctl this device has"), // vfio_pci_core_ioctl
        };
    }

    /// <summary>The kernel's name of a device request, for the errno trace.</summary>
    private static string CommandName(uint request) => request switch
    {
        VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD => nameof(VfioIoctl.VFIO_DEVICE_BIND_IOMMUFD),
        VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT => nameof(VfioIoctl.VFIO_DEVICE_ATTACH_IOMMUFD_PT),
        VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT => nameof(VfioIoctl.VFIO_DEVICE_DETACH_IOMMUFD_PT),
        VfioIoctl.VFIO_DEVICE_GET_INFO => nameof(VfioIoctl.VFIO_DEVICE_GET_INFO),
        VfioIoctl.VFIO_DEVICE_GET_REGION_INFO => nameof(VfioIoctl.VFIO_DEVICE_GET_REGION_INFO),
        _ => "VFIO device ioctl",
    };

    /// <summary>
    /// pread(2), or with <paramref name="write"/> pwrite(2), of <paramref name="count"/> bytes at file offset
    /// <paramref name="offset"/> (region index &lt;&lt; 40, plus the position in it) to or from
    /// <paramref name="buffer"/>: the bytes moved, or a negative errno. vfio_pci_rw (vfio_pci_core.c) serves the
    /// config space as vfio_pci_config_rw (vfio_pci_config.c) does: a range past its end is EFAULT, the bytes move in
    /// aligned chunks of 4, 2 or 1, and a buffer that faults part way is EFAULT after the chunks before the fault.
    /// Nothing before the device is bound; BARs are not served this way (mmap BAR0).
    /// </summary>
    public long ReadWrite(ulong offset, ulong buffer, ulong count, bool write)
    {
        using var trace = Refusal.Enter(_logger, write ? "pwrite" : "pread");
        if (Volatile.Read(ref _closed) != 0)
        {
            return -(long)Refusal.Because(Errno.EBADF, $"the device file is closed");
        }

        Memory.BeginCall();
        if (Iommufd is null)
        {
            return -(long)Refusal.Because(Errno.EINVAL, $"the device is not bound to an iommufd yet"); // vfio_device_fops_read/write
        }

        if (offset >> VfioIoctl.VFIO_PCI_OFFSET_SHIFT != VfioIoctl.VFIO_PCI_CONFIG_REGION_INDEX)
        {
            return -(long)Refusal.Because(Errno.EINVAL, $"region {offset >> VfioIoctl.VFIO_PCI_OFFSET_SHIFT} is not read or written this way (only the config space, 7)");
        }

        ulong position = offset & ((1UL << VfioIoctl.VFIO_PCI_OFFSET_SHIFT) - 1);
        if (count == 0)
        {
            return 0;
        }

        if (position >= PciConfigSpace.Size || count > PciConfigSpace.Size - position)
        {
            return -(long)Refusal.Because(Errno.EFAULT, $"[0x{position:x}, +{count}) is outside the {PciConfigSpace.Size}-byte config space"); // vfio_config_do_rw
        }

        int at = (int)position, length = (int)count;
        if (write)
        {
            var bytes = Memory.GetAccessiblePrefix(buffer, count);
            int whole = WholeChunks(at, length, bytes.Length);
            Config.Write(at, bytes[..whole]);
            return whole == length ? length : -(long)Refusal.Because(Errno.EFAULT, $"the buffer at 0x{buffer:x} faults after {bytes.Length} bytes");
        }

        Span<byte> data = stackalloc byte[length];
        Config.Read(at, data);
        return Memory.TryWrite(buffer, data) ? length : -(long)Refusal.Because(Errno.EFAULT, $"the buffer at 0x{buffer:x} cannot be written");
    }

    /// <summary>
    /// How many of <paramref name="count"/> bytes from <paramref name="position"/> lie in whole chunks within the
    /// first <paramref name="available"/>: vfio_config_do_rw's chunks, 4 bytes when aligned to 4, else 2, else 1.
    /// </summary>
    private static int WholeChunks(int position, int count, int available)
    {
        int done = 0;
        while (done < count)
        {
            int at = position + done, rest = count - done;
            int chunk = rest >= 4 && at % 4 == 0 ? 4 : rest >= 2 && at % 2 == 0 ? 2 : 1;
            if (done + chunk > available)
            {
                break;
            }

            done += chunk;
        }

        return done;
    }

    /// <summary>
    /// mmap(2) of the device fd at <paramref name="offset"/> (region index &lt;&lt; 40, plus an offset inside it), as
    /// vfio_pci_core_mmap (vfio_pci_core.c) allows it: only a BAR that supports mmap, within the BAR, shared; all
    /// else EINVAL, and nothing before the device is bound.
    /// </summary>
    public Errno Mmap(ulong offset, ulong length, MmapProtection protection, out IMmioRegion region)
    {
        region = Dma;
        ulong index = offset >> VfioIoctl.VFIO_PCI_OFFSET_SHIFT;
        ulong start = offset & ((1UL << VfioIoctl.VFIO_PCI_OFFSET_SHIFT) - 1);
        using var trace = Refusal.Enter(_logger, "mmap");
        if (Iommufd is null || Volatile.Read(ref _closed) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"the device is not bound to an iommufd");
        }

        if (index != 0 || (protection & MmapProtection.Shared) == 0)
        {
            return Refusal.Because(Errno.EINVAL, $"only BAR0 (region 0) maps, and only shared: region {index}, {protection}");
        }

        bool inside = length != 0 && start < Dma.Length && length <= Dma.Length - start;
        return inside ? Errno.Success : Refusal.Because(Errno.EINVAL, $"[0x{start:x}, +0x{length:x}) is not inside the 0x{Dma.Length:x}-byte BAR0");
    }

    /// <summary>The last close of the device fd: detaches and unbinds the device and drops the iommufd.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            if (_iommufd is { } file)
            {
                file.UnbindDevice(_devId);
                _fds.Release(file);
                Volatile.Write(ref _iommufd, null);
            }
        }
    }

    /// <summary>vfio_df_ioctl_bind_iommufd (drivers/vfio/device_cdev.c), in its order of checks.</summary>
    private Errno Bind(ulong address)
    {
        const int minSize = 16; // offsetofend(struct vfio_device_bind_iommufd, out_devid)
        var rc = ReadArgument(address, minSize, out VfioDeviceBindIommufd bind);
        if (rc != Errno.Success)
        {
            return rc;
        }

        // The token flag (for SR-IOV VFs) is refused as by kernels before it existed: no device here is a VF.
        if (bind.Flags != 0 || bind.Iommufd < 0)
        {
            return Refusal.Because(Errno.EINVAL, $"flags 0x{bind.Flags:x} is not 0 or iommufd {bind.Iommufd} is negative");
        }

        lock (_lock)
        {
            if (_iommufd is not null || _closed != 0)
            {
                return Refusal.Because(Errno.EINVAL, $"the device file is bound already"); // once per device file
            }

            rc = _fds.Acquire(bind.Iommufd, out var file);
            if (rc != Errno.Success)
            {
                return Refusal.Because(rc, $"fd {bind.Iommufd} is not an open /dev/iommu");
            }

            rc = file.BindDevice(Device, out uint devId);
            if (rc != Errno.Success)
            {
                _fds.Release(file);

                // Bound through another device file: vfio_df_open lets the cdev path open a device only once.
                return rc == Errno.EBUSY ? Refusal.Because(Errno.EINVAL, $"{Device.Name} is open through another device file") : rc;
            }

            if (!TryWrite(address + 12, devId))
            {
                file.UnbindDevice(devId);
                _fds.Release(file);
                return Refusal.Because(Errno.EFAULT, $"out_devid at 0x{address + 12:x} cannot be written back");
            }

            _devId = devId;
            _attached = false;
            Volatile.Write(ref _iommufd, file);
            return Errno.Success;
        }
    }

    /// <summary>
    /// vfio_df_ioctl_attach_pt (device_cdev.c) and vfio_iommufd_physical_attach_ioas (drivers/vfio/iommufd.c): a
    /// second attach replaces the page table.
    /// </summary>
    private Errno Attach(ulong address)
    {
        const int minSize = 12; // offsetofend(struct vfio_device_attach_iommufd_pt, pt_id)
        var rc = ReadPtArgument(address, minSize, out VfioDeviceAttachIommufdPt attach);
        if (rc != Errno.Success)
        {
            return rc;
        }

        lock (_lock)
        {
            var file = _iommufd!;
            uint ptId = attach.PtId;
            rc = _attached ? file.ReplaceDevice(_devId, ref ptId) : file.AttachDevice(_devId, ref ptId);
            if (rc != Errno.Success)
            {
                return rc;
            }

            _attached = true;
            if (!TryWrite(address + 8, ptId))
            {
                file.DetachDevice(_devId);
                _attached = false;
                return Refusal.Because(Errno.EFAULT, $"pt_id at 0x{address + 8:x} cannot be written back");
            }

            return Errno.Success;
        }
    }

    /// <summary>vfio_df_ioctl_detach_pt (device_cdev.c): detaching a device that is not attached succeeds.</summary>
    private Errno Detach(ulong address)
    {
        const int minSize = 8; // offsetofend(struct vfio_device_detach_iommufd_pt, flags)
        var rc = ReadPtArgument(address, minSize, out VfioDeviceDetachIommufdPt _);
        if (rc != Errno.Success)
        {
            return rc;
        }

        lock (_lock)
        {
            if (_attached)
            {
                _iommufd!.DetachDevice(_devId);
                _attached = false;
            }

            return Errno.Success;
        }
    }

    /// <summary>
    /// The prologue attach and detach share (device_cdev.c): copy the struct up to <paramref name="minSize"/>
    /// (EFAULT), then its argsz and flags (its first two u32s) — argsz below the minimum or an unknown flag is
    /// EINVAL. With the PASID flag the struct must reach past the pasid field and be readable there; then
    /// EOPNOTSUPP, as for a device without PASID ops: PASIDs are not modelled.
    /// </summary>
    private Errno ReadPtArgument<T>(ulong address, int minSize, out T argument)
        where T : unmanaged
    {
        var rc = ReadArgument(address, minSize, out argument);
        if (rc != Errno.Success)
        {
            return rc;
        }

        var head = MemoryMarshal.Cast<T, uint>(new ReadOnlySpan<T>(in argument));
        uint argsz = head[0], flags = head[1];
        int pasidEnd = minSize + sizeof(uint);
        if ((flags & ~VfioIoctl.VFIO_DEVICE_PASID) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"flags 0x{flags:x} has bits other than VFIO_DEVICE_PASID");
        }

        if (flags == 0)
        {
            return Errno.Success;
        }

        if (argsz < pasidEnd)
        {
            return Refusal.Because(Errno.EINVAL, $"argsz {argsz} has no room for the pasid VFIO_DEVICE_PASID asks for");
        }

        return Memory.GetAccessiblePrefix(address, (ulong)pasidEnd).Length < pasidEnd
            ? Refusal.Because(Errno.EFAULT, $"the pasid at 0x{address + (ulong)minSize:x} cannot be read")
            : Refusal.Because(Errno.EOPNOTSUPP, $"the device has no PASID support");
    }

    /// <summary>vfio_pci_ioctl_get_info (drivers/vfio/pci/vfio_pci_core.c): no reset, no capabilities.</summary>
    private Errno GetInfo(ulong address)
    {
        const int minSize = 16; // offsetofend(struct vfio_device_info, num_irqs)
        var rc = ReadArgument(address, minSize, out VfioDeviceInfo info);
        if (rc != Errno.Success)
        {
            return rc;
        }

        info.Flags = VfioIoctl.VFIO_DEVICE_FLAGS_PCI;
        info.NumRegions = VfioIoctl.VFIO_PCI_NUM_REGIONS;
        info.NumIrqs = VfioIoctl.VFIO_PCI_NUM_IRQS;
        int length = (int)Math.Min(info.Argsz, (uint)Unsafe.SizeOf<VfioDeviceInfo>());
        return WriteBack(address, MemoryMarshal.AsBytes(new Span<VfioDeviceInfo>(ref info))[..length]);
    }

    /// <summary>vfio_pci_ioctl_get_region_info (vfio_pci_core.c) for a function without BARs, ROM or VGA.</summary>
    private Errno GetRegionInfo(ulong address)
    {
        const int minSize = 32; // offsetofend(struct vfio_region_info, offset)
        var rc = ReadArgument(address, minSize, out VfioRegionInfo info);
        if (rc != Errno.Success)
        {
            return rc;
        }

        switch (info.Index)
        {
            case VfioIoctl.VFIO_PCI_CONFIG_REGION_INDEX:
                info.Size = PciConfigSpace.Size;
                info.Flags = VfioIoctl.VFIO_REGION_INFO_FLAG_READ | VfioIoctl.VFIO_REGION_INFO_FLAG_WRITE;
                break;
            case 0:
                info.Size = Dma.Length; // BAR0: the DMA engine
                info.Flags = VfioIoctl.VFIO_REGION_INFO_FLAG_READ | VfioIoctl.VFIO_REGION_INFO_FLAG_WRITE | VfioIoctl.VFIO_REGION_INFO_FLAG_MMAP;
                break;
            case <= VfioIoctl.VFIO_PCI_ROM_REGION_INDEX:
                info.Size = 0; // an unimplemented BAR, no ROM
                info.Flags = 0;
                break;
            default:
                return Refusal.Because(Errno.EINVAL, $"region {info.Index} does not exist (no VGA, no device-specific regions)");
        }

        info.Offset = (ulong)info.Index << VfioIoctl.VFIO_PCI_OFFSET_SHIFT;
        return WriteBack(address, MemoryMarshal.AsBytes(new Span<VfioRegionInfo>(ref info)));
    }

    /// <summary>
    /// The prologue of every device ioctl (vfio_pci_core.c, device_cdev.c): copy the struct up to
    /// <paramref name="minSize"/> (EFAULT), then its argsz, the first u32, must reach that far (EINVAL).
    /// </summary>
    private Errno ReadArgument<T>(ulong address, int minSize, out T argument)
        where T : unmanaged
    {
        if (!TryRead(address, minSize, out argument))
        {
            return Refusal.Because(Errno.EFAULT, $"the {minSize}-byte struct at 0x{address:x} cannot be read");
        }

        uint argsz = MemoryMarshal.Cast<T, uint>(new ReadOnlySpan<T>(in argument))[0];
        return argsz < minSize ? Refusal.Because(Errno.EINVAL, $"argsz {argsz} is below {minSize}") : Errno.Success;
    }

    /// <summary>copy_to_user of the struct the ioctl filled in: EFAULT unless all of it landed.</summary>
    private Errno WriteBack(ulong address, ReadOnlySpan<byte> bytes) =>
        Memory.TryWrite(address, bytes) ? Errno.Success : Refusal.Because(Errno.EFAULT, $"the struct at 0x{address:x} cannot be written back");

    /// <summary>copy_from_user of the first <paramref name="length"/> bytes of a struct (the rest stays zero).</summary>
    private bool TryRead<T>(ulong address, int length, out T value)
        where T : unmanaged
    {
        value = default;
        var bytes = Memory.GetAccessiblePrefix(address, (ulong)length);
        if (bytes.Length < length)
        {
            return false;
        }

        bytes[..length].CopyTo(MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return true;
    }

    private bool TryWrite(ulong address, uint value) =>
        Memory.TryWrite(address, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(in value)));
}
