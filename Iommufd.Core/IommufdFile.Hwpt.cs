using Iommufd.Core.Diagnostics;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

// HWPT commands: HWPT_ALLOC, GET_HW_INFO, HWPT_INVALIDATE, dirty tracking, FAULT_QUEUE_ALLOC.
public sealed partial class IommufdFile
{
    private const IommuHwptAllocFlags PagingFlags = IommuHwptAllocFlags.NestParent | IommuHwptAllocFlags.DirtyTracking
        | IommuHwptAllocFlags.FaultIdValid | IommuHwptAllocFlags.AllocPasid;

    private const IommuHwptAllocFlags ViommuNestedFlags = IommuHwptAllocFlags.FaultIdValid | IommuHwptAllocFlags.AllocPasid;

    /// <summary>
    /// IOMMU_HWPT_ALLOC. <paramref name="ptId"/> names an IOAS (→ a paging HWPT), a nest-parent paging HWPT or a
    /// vIOMMU (→ a nested HWPT built from <paramref name="data"/>). Checks follow drivers/iommu/iommufd/hw_pagetable.c
    /// iommufd_hwpt_alloc().
    /// </summary>
    public Errno HwptAlloc(uint devId, uint ptId, IommuHwptAllocFlags flags, IommuHwptDataType dataType, UserSpan data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if ((dataType == IommuHwptDataType.None) != (data.Length == 0))
        {
            return Refusal.Because(Errno.EINVAL, $"data_type {dataType} with data_len {data.Length}: a type needs data and data needs a type");
        }

        var rc = _objects.Get<DeviceObject>(devId, out var idevRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (idevRef)
        {
            if (_objects.Get(ptId, out var ptRef) != Errno.Success)
            {
                return Refusal.Because(Errno.EINVAL, $"pt_id {ptId} names no IOAS, HWPT or vIOMMU");
            }

            using (ptRef)
            {
                var device = idevRef.Object.Device;
                var userData = new UserData((uint)dataType, data);
                return ptRef.Object switch
                {
                    IoasObject ioas => AllocPaging(device, ioas, flags, userData, faultId, out hwptId),
                    HwptPagingObject parent => AllocNestedOnParent(device, parent, flags, userData, faultId, out hwptId),
                    ViommuObject viommu => AllocNestedOnViommu(device, viommu, flags, userData, faultId, out hwptId),
                    _ => Errno.EINVAL,
                };
            }
        }
    }

    /// <summary>
    /// IOMMU_GET_HW_INFO: the driver's info struct for the device, copied into <paramref name="data"/> (truncated,
    /// or with a zeroed tail). <paramref name="info"/> carries the full length and the type.
    /// </summary>
    public Errno GetHwInfo(uint devId, IommuHwInfoFlags flags, IommuHwInfoType requestedType, UserSpan data, out HwInfoResult info)
    {
        info = default;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if ((flags & ~IommuHwInfoFlags.InputType) != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{(uint)flags:x} has unknown bits");
        }

        var rc = _objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (idev)
        {
            var type = (flags & IommuHwInfoFlags.InputType) != 0 ? requestedType : IommuHwInfoType.Default;
            Span<byte> kernel = stackalloc byte[256];
            kernel.Clear();
            var device = idev.Object.Device;
            rc = device.Iommu.GetHwInfo(device, type, kernel, out info);
            if (rc != Errno.Success)
            {
                return rc;
            }

            if (data.Length > 0)
            {
                if (data.IsNull || !data.IsFullyAccessible)
                {
                    return Errno.EFAULT;
                }

                int copy = (int)Math.Min((ulong)info.Length, data.Length);
                kernel[..copy].CopyTo(data.Accessible);
                data.Accessible[copy..].Clear();
                if (!data.Commit(data.Accessible.Length))
                {
                    return Errno.EFAULT;
                }
            }

            return Errno.Success;
        }
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE. <paramref name="hwptId"/> names a nested HWPT or a vIOMMU; the driver gets
    /// <paramref name="entries"/> as they are (no copy) and <paramref name="entryNum"/> comes back as the number
    /// of entries it handled, on success and on error (drivers/iommu/iommufd/hw_pagetable.c iommufd_hwpt_invalidate()).
    /// </summary>
    public Errno HwptInvalidate(uint hwptId, uint dataType, uint entryLength, ReadOnlySpan<byte> entries, ref uint entryNum)
    {
        if (entryNum != 0 && entries.Length < (long)entryLength * entryNum)
        {
            throw new ArgumentException("the span must hold entryNum entries of entryLength bytes", nameof(entries));
        }

        using var call = EnterCall();
        if (call.Closed)
        {
            entryNum = 0;
            return Errno.EBADF;
        }

        return Invalidate(hwptId, new InvalidationArray(dataType, entryLength, entryNum, entries), entriesAreNull: false, ref entryNum);
    }

    /// <summary>IOMMU_FAULT_QUEUE_ALLOC: a fault queue and the fd its faults are read from.</summary>
    public Errno FaultQueueAlloc(out uint faultId, out int fd)
    {
        faultId = 0;
        fd = -1;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var fault = new FaultObject();
        fault.AddUser(); // the fd
        faultId = _objects.Add(fault);
        fd = AddFile(fault);
        return Errno.Success;
    }

    /// <summary>Queues an I/O page fault on the fault queue of the HWPT the device <paramref name="devId"/> is attached to.</summary>
    public Errno ReportPageFault(uint devId, ulong address, IommuHwptPgfaultPerm permissions)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = _objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (idev)
        lock (_attachLock)
        {
            if (idev.Object.Attached?.Fault is not { } fault)
            {
                return Errno.EINVAL;
            }

            fault.Report(new IommuHwptPgfault
            {
                Flags = (uint)IommuHwptPgfaultFlags.LastPage,
                DevId = devId,
                Perm = (uint)permissions,
                Addr = address,
                Length = PhysicalMemory.PageSize,
            });
            return Errno.Success;
        }
    }

    /// <summary>
    /// The driver domain behind a HWPT ID, for tests and diagnostics (what the selftest's IOMMU_TEST_CMD looks
    /// up). ENOENT when <paramref name="hwptId"/> is not a HWPT.
    /// </summary>
    public Errno GetHwptDomain(uint hwptId, out IIommuDomain domain)
    {
        domain = null!;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = _objects.Get<HwptObject>(hwptId, out var hwpt);
        if (rc == Errno.Success)
        {
            domain = hwpt.Object.Domain;
            hwpt.Dispose();
        }

        return rc;
    }

    internal Errno RawHwptAlloc(ref IommuHwptAlloc cmd, ref bool respond)
    {
        if (cmd.Reserved != 0 || cmd.Reserved2 != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} or __reserved2 0x{cmd.Reserved2:x} is not 0");
        }

        var data = UserSpan.Resolve(Memory, cmd.DataUptr, cmd.DataLen);
        var rc = HwptAlloc(cmd.DevId, cmd.PtId, (IommuHwptAllocFlags)cmd.Flags, (IommuHwptDataType)cmd.DataType, data, cmd.FaultId, out cmd.OutHwptId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawGetHwInfo(ref IommuHwInfo cmd, ref bool respond)
    {
        if (cmd.Reserved[0] != 0 || cmd.Reserved[1] != 0 || cmd.Reserved[2] != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved is not 0");
        }

        var data = UserSpan.Resolve(Memory, cmd.DataUptr, cmd.DataLen);
        var rc = GetHwInfo(cmd.DevId, (IommuHwInfoFlags)cmd.Flags, (IommuHwInfoType)cmd.DataType, data, out var info);
        if (rc == Errno.Success)
        {
            cmd.DataLen = (uint)info.Length;
            cmd.DataType = (uint)info.Type;
            cmd.OutMaxPasidLog2 = info.MaxPasidLog2;
            cmd.OutCapabilities = (ulong)info.Capabilities;
            respond = true;
        }

        return rc;
    }

    internal Errno RawHwptInvalidate(ref IommuHwptInvalidate cmd, ref bool respond)
    {
        respond = true; // entry_num goes back on every path past the size rule
        uint entryNum = cmd.EntryNum;
        cmd.EntryNum = 0;
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        ulong total = (ulong)cmd.EntryLen * entryNum;
        var accessible = Memory.GetAccessiblePrefix(cmd.DataUptr, total);
        var array = new InvalidationArray(cmd.DataType, cmd.EntryLen, entryNum, accessible, total);
        var rc = Invalidate(cmd.HwptId, array, cmd.DataUptr == 0, ref entryNum);
        cmd.EntryNum = entryNum;
        return rc;
    }

    internal Errno RawHwptSetDirtyTracking(ref IommuHwptSetDirtyTracking cmd)
    {
        if ((cmd.Flags & ~(uint)IommuHwptSetDirtyTrackingFlags.Enable) != 0 || cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        return DirtyTrackingUnsupported(cmd.HwptId);
    }

    internal Errno RawHwptGetDirtyBitmap(ref IommuHwptGetDirtyBitmap cmd)
    {
        if ((cmd.Flags & ~(uint)IommuHwptGetDirtyBitmapFlags.NoClear) != 0 || cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        return DirtyTrackingUnsupported(cmd.HwptId, cmd.Iova, cmd.Length, cmd.PageSize);
    }

    internal Errno RawFaultQueueAlloc(ref IommuFaultAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        var rc = FaultQueueAlloc(out cmd.OutFaultId, out int fd);
        cmd.OutFaultFd = (uint)fd;
        respond = rc == Errno.Success;
        return rc;
    }

    private Errno Invalidate(uint hwptId, InvalidationArray array, bool entriesAreNull, ref uint entryNum)
    {
        uint requested = entryNum;
        entryNum = 0;
        if (requested != 0 && (entriesAreNull || array.EntryLength == 0))
        {
            return Refusal.Because(Errno.EINVAL, $"entry_num {requested} with {(entriesAreNull ? "a NULL data_uptr" : "entry_len 0")}");
        }

        var rc = _objects.Get(hwptId, out var target);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (target)
        {
            IUserCacheInvalidation? handler;
            switch (target.Object)
            {
                case HwptNestedObject nested:
                    handler = nested.NestedDomain as IUserCacheInvalidation;
                    break;
                case ViommuObject viommu:
                    handler = viommu.Driver as IUserCacheInvalidation;
                    break;
                default:
                    return Refusal.Because(Errno.EINVAL, $"hwpt_id {hwptId} is a {target.Object.Type}, neither a nested HWPT nor a vIOMMU");
            }

            if (handler is null)
            {
                return Refusal.Because(Errno.EOPNOTSUPP, $"the driver of {target.Object.Type} {hwptId} takes no user invalidation");
            }

            rc = _metrics.Invalidate(handler, ref array, target.Object.Type);
            entryNum = Math.Min(array.EntryNum, requested);
            return rc;
        }
    }

    /// <summary>
    /// No driver here tracks dirty pages: paging HWPTs are never allocated with DIRTY_TRACKING, so past the lookup
    /// the answer is EOPNOTSUPP (io_pagetable.c iopt_set_dirty_tracking()) — for GET_DIRTY_BITMAP only after the
    /// range is checked (io_pagetable.c iopt_read_and_clear_dirty_data() calls iommufd_check_iova_range() first).
    /// </summary>
    private Errno DirtyTrackingUnsupported(uint hwptId, ulong iova = 0, ulong length = 0, ulong? pageSize = null)
    {
        var rc = _objects.Get<HwptPagingObject>(hwptId, out var hwpt);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (hwpt)
        {
            return pageSize is { } size ? CheckDirtyRange(hwpt.Object.Ioas.IovaAlignment, iova, length, size) ?? Errno.EOPNOTSUPP : Errno.EOPNOTSUPP;
        }
    }

    /// <summary>io_pagetable.c iommufd_check_iova_range(): null when the bitmap's range is well formed.</summary>
    private static Errno? CheckDirtyRange(ulong alignment, ulong iova, ulong length, ulong pageSize)
    {
        if (length - 1 > ulong.MaxValue - iova)
        {
            return Errno.EOVERFLOW; // iova + (length - 1) carries out of 64 bits (length 0 wraps to U64_MAX)
        }

        ulong end = iova + length;
        if (((iova | end) & (alignment - 1)) != 0 || pageSize == 0 || ((iova | end) & (pageSize - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        return null;
    }

    /// <summary>
    /// The fault queue FAULT_ID_VALID names, held until the caller's HWPT has taken its own reference (an empty
    /// handle without the flag).
    /// </summary>
    private Errno LookupFault(IommuHwptAllocFlags flags, uint faultId, out ObjectRef<FaultObject> fault)
    {
        fault = default;
        return (flags & IommuHwptAllocFlags.FaultIdValid) == 0 ? Errno.Success : _objects.Get(faultId, out fault);
    }

    private Errno AllocPaging(EndpointDevice device, IoasObject ioas, IommuHwptAllocFlags flags, UserData data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        if ((flags & ~PagingFlags) != 0 || !data.IsEmpty)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"a paging HWPT takes no driver data and flags 0x{(uint)flags:x} has bits it does not know");
        }

        var rc = CreatePagingHwpt(device, ioas, flags, faultId, autoDomain: false, out var hwpt);
        hwptId = rc == Errno.Success ? hwpt.Id : 0;
        return rc;
    }

    private Errno AllocNestedOnParent(EndpointDevice device, HwptPagingObject parent, IommuHwptAllocFlags flags, UserData data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        if ((flags & ~IommuHwptAllocFlags.FaultIdValid) != 0 || data.IsEmpty)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"a nested HWPT needs driver data and takes only FAULT_ID_VALID (flags 0x{(uint)flags:x})");
        }

        if (parent.IsAutoDomain || !parent.PagingDomain.IsNestParent || parent.PagingDomain.Iommu != device.Iommu)
        {
            return Refusal.Because(Errno.EINVAL, $"HWPT {parent.Id} is not a NEST_PARENT of the device's IOMMU");
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = device.Iommu.AllocNestedDomain(device, parent.PagingDomain, flags & ~IommuHwptAllocFlags.FaultIdValid, data, out var domain);
        return rc != Errno.Success ? rc : AddNested(domain, parent, viommu: null, flags, faultId, out hwptId);
    }

    private Errno AllocNestedOnViommu(EndpointDevice device, ViommuObject viommu, IommuHwptAllocFlags flags, UserData data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        if (viommu.Iommu != device.Iommu)
        {
            // iommufd_hwpt_alloc() checks the vIOMMU's IOMMU before the flags
            return Refusal.Because(Errno.EINVAL, $"vIOMMU {viommu.Id} is on another IOMMU than the device");
        }

        if ((flags & ~ViommuNestedFlags) != 0 || data.IsEmpty || viommu.Driver is not IViommuNestedDomains ops)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"vIOMMU {viommu.Id} takes a nested HWPT with driver data and known flags only (flags 0x{(uint)flags:x}, data_len {data.Length})");
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = ops.AllocNestedDomain(flags & ~IommuHwptAllocFlags.FaultIdValid, data, out var domain);
        return rc != Errno.Success ? rc : AddNested(domain, parent: null, viommu, flags, faultId, out hwptId);
    }

    /// <summary>
    /// Publishes a nested HWPT once its domain exists; the fault queue is looked up only now, and a bad one frees the
    /// domain (hw_pagetable.c iommufd_hwpt_alloc()).
    /// </summary>
    private Errno AddNested(INestedDomain domain, HwptPagingObject? parent, ViommuObject? viommu, IommuHwptAllocFlags flags, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        var rc = LookupFault(flags, faultId, out var fault);
        if (rc != Errno.Success)
        {
            domain.Free();
            return rc;
        }

        using (fault)
        {
            parent?.AddUser();
            viommu?.AddUser();
            fault.Object?.AddUser();
            hwptId = _objects.Add(new HwptNestedObject(domain, parent, viommu) { Fault = fault.Object });
            return Errno.Success;
        }
    }
}
