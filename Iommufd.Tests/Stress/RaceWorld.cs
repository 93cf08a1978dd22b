using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.DriverContract;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Stress;

/// <summary>
/// The shared state of one race run: a driver-contract rig (two devices, an IOAS over guest RAM) and small arrays
/// of IDs and fds that racing threads fill, use and destroy through the raw ioctl entry point (and VFIO's typed
/// bind / attach / unbind). A slot may hold a stale ID that names nothing, or meanwhile another object: that is
/// part of the race, and each operation's allowed errnos include what such an ID legally gives.
/// </summary>
internal sealed class RaceWorld
{
    private const int Slots = 4;

    private readonly uint[] _ioas = new uint[Slots];
    private readonly uint[] _hwpt = new uint[Slots];
    private readonly uint[] _nested = new uint[Slots];
    private readonly uint[] _viommu = new uint[Slots];
    private readonly uint[] _vdevice = new uint[Slots];
    private readonly uint[] _veventq = new uint[Slots];
    private readonly uint[] _hwQueue = new uint[Slots];
    private readonly uint[] _fault = new uint[Slots];
    private readonly uint[] _auto = new uint[Slots];
    private readonly int[] _fds = new int[Slots];
    private readonly uint[] _devIds = new uint[2];
    private readonly EndpointDevice[] _devices;
    private readonly UserRegion _mapSource;
    private readonly byte[] _nestedData;
    private readonly ulong _nestedDataUptr;
    private readonly ulong _entryUptr;
    private readonly IDriverContractPlugin _plugin;
    private readonly IommuHwQueueType? _hwQueueType;

    public RaceWorld(DriverContractRig rig, IDriverContractPlugin plugin, IommuHwQueueType? hwQueueType)
    {
        Rig = rig;
        _plugin = plugin;
        _hwQueueType = hwQueueType;
        _devices = [rig.Device, rig.OtherDevice];
        _devIds[0] = rig.DevId;
        _devIds[1] = rig.OtherDevId;
        _ioas[0] = rig.IoasId;
        _mapSource = rig.Process.Map(16 * PhysicalMemory.PageSize);
        _nestedData = plugin.CreateNestedHwptData(rig);
        _nestedDataUptr = rig.Put(_nestedData);
        _entryUptr = rig.Put(plugin.ValidEntry(0, 0));
    }

    public DriverContractRig Rig { get; }

    public IommufdFile File => Rig.File;

    public IReadOnlyList<EndpointDevice> Devices => _devices;

    public Errno AllocIoas(Random r)
    {
        var cmd = new IommuIoasAlloc();
        var rc = Rig.Raw(IommufdIoctl.IOMMU_IOAS_ALLOC, ref cmd);
        Put(_ioas, r, rc, cmd.OutIoasId);
        return rc;
    }

    public Errno MapIoas(Random r)
    {
        var cmd = new IommuIoasMap
        {
            Flags = (uint)(IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable),
            IoasId = Pick(_ioas, r),
            UserVa = _mapSource.Address + ((ulong)r.Next(16) * PhysicalMemory.PageSize),
            Length = PhysicalMemory.PageSize,
        };
        return Rig.Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
    }

    /// <summary>Unmaps everything of a slot IOAS other than the rig's (whose guest RAM the HW queues pin).</summary>
    public Errno UnmapAll(Random r) => File.RawUnmap(Pick(_ioas, r, skipFirst: true), 0, ulong.MaxValue);

    /// <summary>Unmaps the rig IOAS's guest RAM page the HW queues sit on, and maps it back when that worked.</summary>
    public Errno UnmapQueuePage(Random r)
    {
        var rc = File.RawUnmap(_ioas[0], DriverContractRig.GuestRamIpa, (ulong)DriverContractRig.GuestRamSize);
        if (rc == Errno.Success)
        {
            rc = Rig.MapAt(Rig.GuestRam, DriverContractRig.GuestRamIpa);
        }

        return rc;
    }

    public Errno CopyIoas(Random r)
    {
        var cmd = new IommuIoasCopy
        {
            Flags = (uint)IommuIoasMapFlags.Readable,
            DstIoasId = Pick(_ioas, r, skipFirst: true),
            SrcIoasId = _ioas[0],
            Length = (ulong)DriverContractRig.GuestRamSize,
            SrcIova = DriverContractRig.GuestRamIpa,
        };
        return Rig.Raw(IommufdIoctl.IOMMU_IOAS_COPY, ref cmd);
    }

    public Errno IovaRanges(Random r)
    {
        var cmd = new IommuIoasIovaRanges { IoasId = Pick(_ioas, r) };
        return Rig.Raw(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref cmd);
    }

    public Errno AllocPaging(Random r) => AllocPagingCore(r, IommuHwptAllocFlags.NestParent, 0);

    public Errno AllocPagingWithFault(Random r) =>
        AllocPagingCore(r, IommuHwptAllocFlags.FaultIdValid, Pick(_fault, r));

    public Errno AllocViommu(Random r)
    {
        var cmd = new IommuViommuAlloc { Type = (uint)_plugin.ViommuType, DevId = PickDev(r), HwptId = Pick(_hwpt, r) };
        var rc = Rig.Raw(IommufdIoctl.IOMMU_VIOMMU_ALLOC, ref cmd);
        Put(_viommu, r, rc, cmd.OutViommuId);
        return rc;
    }

    public Errno AllocNested(Random r)
    {
        var cmd = new IommuHwptAlloc
        {
            DevId = PickDev(r),
            PtId = Pick(_viommu, r),
            DataType = (uint)_plugin.NestedDataType,
            DataLen = (uint)_nestedData.Length,
            DataUptr = _nestedDataUptr,
        };
        var rc = Rig.Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref cmd);
        Put(_nested, r, rc, cmd.OutHwptId);
        return rc;
    }

    public Errno AllocVdevice(Random r)
    {
        var cmd = new IommuVdeviceAlloc { ViommuId = Pick(_viommu, r), DevId = PickDev(r), VirtId = (ulong)r.Next(3) };
        var rc = Rig.Raw(IommufdIoctl.IOMMU_VDEVICE_ALLOC, ref cmd);
        Put(_vdevice, r, rc, cmd.OutVdeviceId);
        return rc;
    }

    public Errno AllocVeventq(Random r)
    {
        var cmd = new IommuVeventqAlloc { ViommuId = Pick(_viommu, r), Type = (uint)_plugin.VeventqType, VeventqDepth = 4 };
        var rc = Rig.Raw(IommufdIoctl.IOMMU_VEVENTQ_ALLOC, ref cmd);
        int slot = Put(_veventq, r, rc, cmd.OutVeventqId);
        if (slot >= 0)
        {
            Volatile.Write(ref _fds[slot], (int)cmd.OutVeventqFd);
        }

        return rc;
    }

    public Errno AllocHwQueue(Random r)
    {
        var cmd = new IommuHwQueueAlloc
        {
            ViommuId = Pick(_viommu, r),
            Type = (uint)(_hwQueueType ?? IommuHwQueueType.Default),
            Index = (uint)r.Next(2),
            NestingParentIova = DriverContractRig.GuestPageIpa(r.Next(4)),
            Length = PhysicalMemory.PageSize,
        };
        var rc = Rig.Raw(IommufdIoctl.IOMMU_HW_QUEUE_ALLOC, ref cmd);
        Put(_hwQueue, r, rc, cmd.OutHwQueueId);
        return rc;
    }

    public Errno AllocFault(Random r)
    {
        var cmd = new IommuFaultAlloc();
        var rc = Rig.Raw(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, ref cmd);
        int slot = Put(_fault, r, rc, cmd.OutFaultId);
        if (slot >= 0)
        {
            Volatile.Write(ref _fds[slot], (int)cmd.OutFaultFd);
        }

        return rc;
    }

    public Errno Invalidate(Random r)
    {
        uint[] targets = r.Next(2) == 0 ? _viommu : _nested;
        var cmd = new IommuHwptInvalidate
        {
            HwptId = Pick(targets, r),
            DataUptr = _entryUptr,
            DataType = _plugin.InvalidationDataType,
            EntryLen = _plugin.EntryLength,
            EntryNum = 1,
        };
        return Rig.Raw(IommufdIoctl.IOMMU_HWPT_INVALIDATE, ref cmd);
    }

    /// <summary>read(2) of an event fd, with a buffer that is a whole number of fault records (else ESPIPE).</summary>
    public Errno ReadFd(Random r) => File.Read(Volatile.Read(ref _fds[r.Next(Slots)]), new byte[6 * 40], out _);

    public Errno CloseFd(Random r) => File.Close(Volatile.Read(ref _fds[r.Next(Slots)]));

    public Errno DestroyIoas(Random r) => File.RawDestroy(Pick(_ioas, r));

    public Errno DestroyHwpt(Random r) => File.RawDestroy(Pick(r.Next(2) == 0 ? _hwpt : _auto, r));

    public Errno DestroyNested(Random r) => File.RawDestroy(Pick(_nested, r));

    public Errno DestroyViommu(Random r) => File.RawDestroy(Pick(_viommu, r));

    public Errno DestroyVdevice(Random r) => File.RawDestroy(Pick(_vdevice, r));

    public Errno DestroyVeventq(Random r) => File.RawDestroy(Pick(_veventq, r));

    public Errno DestroyHwQueue(Random r) => File.RawDestroy(Pick(_hwQueue, r));

    public Errno DestroyFault(Random r) => File.RawDestroy(Pick(_fault, r));

    /// <summary>VFIO_DEVICE_BIND_IOMMUFD of one of the two devices.</summary>
    public Errno Bind(Random r)
    {
        int d = r.Next(2);
        var rc = File.BindDevice(_devices[d], out uint devId);
        if (rc == Errno.Success)
        {
            Volatile.Write(ref _devIds[d], devId);
        }

        return rc;
    }

    public Errno Unbind(Random r) => File.UnbindDevice(PickDev(r));

    /// <summary>VFIO attach to an IOAS (an automatic domain), a paging HWPT, a nested HWPT or an automatic domain by ID.</summary>
    public Errno Attach(Random r)
    {
        uint pt = PickPageTable(r);
        var rc = File.AttachDevice(PickDev(r), ref pt);
        Put(_auto, r, rc, pt);
        return rc;
    }

    public Errno Replace(Random r)
    {
        uint pt = PickPageTable(r);
        var rc = File.ReplaceDevice(PickDev(r), ref pt);
        Put(_auto, r, rc, pt);
        return rc;
    }

    public Errno Detach(Random r) => File.DetachDevice(PickDev(r));

    private Errno AllocPagingCore(Random r, IommuHwptAllocFlags flags, uint faultId)
    {
        var cmd = new IommuHwptAlloc { Flags = (uint)flags, DevId = PickDev(r), PtId = Pick(_ioas, r), FaultId = faultId };
        var rc = Rig.Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref cmd);
        Put(_hwpt, r, rc, cmd.OutHwptId);
        return rc;
    }

    private uint PickPageTable(Random r) => r.Next(4) switch
    {
        0 => Pick(_ioas, r),
        1 => Pick(_hwpt, r),
        2 => Pick(_nested, r),
        _ => Pick(_auto, r),
    };

    private uint PickDev(Random r) => Volatile.Read(ref _devIds[r.Next(2)]);

    private static uint Pick(uint[] slots, Random r, bool skipFirst = false) =>
        Volatile.Read(ref slots[skipFirst ? 1 + r.Next(Slots - 1) : r.Next(Slots)]);

    /// <summary>Stores a new ID in a random slot of <paramref name="slots"/>; returns the slot, or −1 on failure.</summary>
    private static int Put(uint[] slots, Random r, Errno rc, uint id)
    {
        if (rc != Errno.Success)
        {
            return -1;
        }

        int slot = r.Next(1, Slots); // slot 0 keeps what the rig set up (or nothing: a name that is always free)
        Volatile.Write(ref slots[slot], id);
        return slot;
    }
}
