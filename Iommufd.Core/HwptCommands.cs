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

/// <summary>
/// The HWPT commands (drivers/iommu/iommufd/hw_pagetable.c): HWPT_ALLOC (paging and nested), HWPT_INVALIDATE and
/// dirty tracking, and the paging HWPTs attaching a device to an IOAS makes.
/// </summary>
public static class HwptCommands
{
    private const IommuHwptAllocFlags PagingFlags = IommuHwptAllocFlags.NestParent | IommuHwptAllocFlags.DirtyTracking
        | IommuHwptAllocFlags.FaultIdValid | IommuHwptAllocFlags.AllocPasid;

    private const IommuHwptAllocFlags NestedFlags = IommuHwptAllocFlags.FaultIdValid | IommuHwptAllocFlags.AllocPasid;

    /// <summary>
    /// IOMMU_HWPT_ALLOC. <paramref name="ptId"/> names an IOAS (→ a paging HWPT), a nest-parent paging HWPT or a
    /// vIOMMU (→ a nested HWPT built from <paramref name="data"/>). Checks follow drivers/iommu/iommufd/hw_pagetable.c
    /// iommufd_hwpt_alloc().
    /// </summary>
    public static Errno HwptAlloc(this IommufdFile file, uint devId, uint ptId, IommuHwptAllocFlags flags, IommuHwptDataType dataType, UserSpan data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if ((dataType == IommuHwptDataType.None) != (data.Length == 0))
        {
            return call.Done(Refusal.Because(Errno.EINVAL, $"data_type {dataType} with data_len {data.Length}: a type needs data and data needs a type"));
        }

        var rc = file.Objects.Get<DeviceObject>(devId, out var idevRef);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (idevRef)
        {
            if (file.Objects.Get(ptId, out var ptRef) != Errno.Success)
            {
                return call.Done(Refusal.Because(Errno.EINVAL, $"pt_id {ptId} names no IOAS, HWPT or vIOMMU"));
            }

            using (ptRef)
            {
                var device = idevRef.Object.Device;
                var userData = new UserData((uint)dataType, data);
                return call.Done(ptRef.Object switch
                {
                    IoasObject ioas => file.AllocPaging(device, ioas, flags, userData, faultId, out hwptId),
                    HwptPagingObject parent => file.AllocNestedOnParent(device, parent, flags, userData, faultId, out hwptId),
                    ViommuObject viommu => file.AllocNestedOnViommu(device, viommu, flags, userData, faultId, out hwptId),
                    _ => Errno.EINVAL,
                });
            }
        }
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE. <paramref name="hwptId"/> names a nested HWPT or a vIOMMU; the driver gets
    /// <paramref name="entries"/> as they are (no copy) and <paramref name="entryNum"/> comes back as the number
    /// of entries it handled, on success and on error (drivers/iommu/iommufd/hw_pagetable.c iommufd_hwpt_invalidate()).
    /// </summary>
    public static Errno HwptInvalidate(this IommufdFile file, uint hwptId, uint dataType, uint entryLength, ReadOnlySpan<byte> entries, ref uint entryNum)
    {
        if (entryNum != 0 && entries.Length < (long)entryLength * entryNum)
        {
            throw new ArgumentException("the span must hold entryNum entries of entryLength bytes", nameof(entries));
        }

        using var call = file.EnterCall();
        if (call.Closed)
        {
            entryNum = 0;
            return call.Done(Errno.EBADF);
        }

        var array = new InvalidationArray(dataType, entryLength, entryNum, entries);
        return call.Done(file.Invalidate(hwptId, ref array, entriesAreNull: false, ref entryNum));
    }

    /// <summary>
    /// IOMMU_HWPT_SET_DIRTY_TRACKING (hw_pagetable.c iommufd_hwpt_set_dirty_tracking()): unknown flags are
    /// EOPNOTSUPP, then the paging HWPT (ENOENT), then a domain without dirty tracking is EOPNOTSUPP
    /// (io_pagetable.c iopt_set_dirty_tracking()).
    /// </summary>
    public static Errno HwptSetDirtyTracking(this IommufdFile file, uint hwptId, IommuHwptSetDirtyTrackingFlags flags)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if ((flags & ~IommuHwptSetDirtyTrackingFlags.Enable) != 0)
        {
            return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{(uint)flags:x} has unknown bits"));
        }

        var rc = file.Objects.Get<HwptPagingObject>(hwptId, out var hwpt);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (hwpt)
        {
            return call.Done(hwpt.Object.PagingDomain.DirtyOps is { } ops
                ? hwpt.Object.Ioas.SetDirtyTracking(ops, (flags & IommuHwptSetDirtyTrackingFlags.Enable) != 0)
                : Refusal.Because(Errno.EOPNOTSUPP, $"HWPT {hwptId} was not allocated with DIRTY_TRACKING"));
        }
    }

    /// <summary>
    /// IOMMU_HWPT_GET_DIRTY_BITMAP (hw_pagetable.c iommufd_hwpt_get_dirty_bitmap()): flags (EOPNOTSUPP), the paging
    /// HWPT (ENOENT), the range (io_pagetable.c iommufd_check_iova_range(): EOVERFLOW, EINVAL), a domain without
    /// dirty tracking (EOPNOTSUPP), the bitmap (EFAULT unless all of its u64 words can be written), then the
    /// driver reads the mapped range area by area and sets a bit for each dirty <paramref name="pageSize"/> page,
    /// clearing the dirty bits unless NO_CLEAR. Bits already set in <paramref name="bitmap"/> stay set.
    /// </summary>
    public static Errno HwptGetDirtyBitmap(this IommufdFile file, uint hwptId, IommuHwptGetDirtyBitmapFlags flags, ulong iova, ulong length, ulong pageSize, Span<byte> bitmap) =>
        file.GetDirtyBitmap(hwptId, flags, iova, length, pageSize, bitmap, userAddress: null);

    /// <summary>
    /// The driver domain behind a HWPT ID, for tests and diagnostics (what the selftest's IOMMU_TEST_CMD looks
    /// up). ENOENT when <paramref name="hwptId"/> is not a HWPT.
    /// </summary>
    public static Errno GetHwptDomain(this IommufdFile file, uint hwptId, out IIommuDomain domain)
    {
        domain = null!;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.Objects.Get<HwptObject>(hwptId, out var hwpt);
        if (rc == Errno.Success)
        {
            domain = hwpt.Object.Domain;
            hwpt.Dispose();
        }

        return call.Done(rc);
    }

    internal static Errno RawHwptAlloc(this IommufdFile file, ref IommuHwptAlloc cmd, ref bool respond)
    {
        if (cmd.Reserved != 0 || cmd.Reserved2 != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} or __reserved2 0x{cmd.Reserved2:x} is not 0");
        }

        var data = UserSpan.Resolve(file.Memory, cmd.DataUptr, cmd.DataLen);
        var rc = file.HwptAlloc(cmd.DevId, cmd.PtId, (IommuHwptAllocFlags)cmd.Flags, (IommuHwptDataType)cmd.DataType, data, cmd.FaultId, out cmd.OutHwptId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawHwptInvalidate(this IommufdFile file, ref IommuHwptInvalidate cmd, ref bool respond)
    {
        respond = true; // entry_num goes back on every path past the size rule
        uint entryNum = cmd.EntryNum;
        cmd.EntryNum = 0;
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        ulong total = (ulong)cmd.EntryLen * entryNum;
        var accessible = file.Memory.GetAccessiblePrefix(cmd.DataUptr, total);
        var array = new InvalidationArray(cmd.DataType, cmd.EntryLen, entryNum, accessible, total);
        var rc = file.Invalidate(cmd.HwptId, ref array, cmd.DataUptr == 0, ref entryNum);
        cmd.EntryNum = entryNum;
        return rc;
    }

    internal static Errno RawHwptSetDirtyTracking(this IommufdFile file, ref IommuHwptSetDirtyTracking cmd) =>
        cmd.Reserved != 0
            ? Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0")
            : file.HwptSetDirtyTracking(cmd.HwptId, (IommuHwptSetDirtyTrackingFlags)cmd.Flags);

    internal static Errno RawHwptGetDirtyBitmap(this IommufdFile file, ref IommuHwptGetDirtyBitmap cmd)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        return file.GetDirtyBitmap(cmd.HwptId, (IommuHwptGetDirtyBitmapFlags)cmd.Flags, cmd.Iova, cmd.Length, cmd.PageSize, default, cmd.Data);
    }

    // The array by reference: by value it is a 40-byte copy (rep movsq) on every call.
    private static Errno Invalidate(this IommufdFile file, uint hwptId, ref InvalidationArray array, bool entriesAreNull, ref uint entryNum)
    {
        uint requested = entryNum;
        entryNum = 0;
        if (requested != 0 && (entriesAreNull || array.EntryLength == 0))
        {
            return Refusal.Because(Errno.EINVAL, $"entry_num {requested} with {(entriesAreNull ? "a NULL data_uptr" : "entry_len 0")}");
        }

        var rc = file.Objects.GetMarked(hwptId, out ObjectRef<IommufdObject> target);
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
                    handler = nested.UserCacheInvalidation;
                    break;
                case ViommuObject viommu:
                    handler = viommu.UserCacheInvalidation;
                    break;
                default:
                    return Refusal.Because(Errno.EINVAL, $"hwpt_id {hwptId} is a {target.Object.Type}, neither a nested HWPT nor a vIOMMU");
            }

            if (handler is null)
            {
                return Refusal.Because(Errno.EOPNOTSUPP, $"the driver of {target.Object.Type} {hwptId} takes no user invalidation");
            }

            rc = file.Metrics.Invalidate(handler, ref array, target.Object.Type);
            entryNum = Math.Min(array.EntryNum, requested);
            return rc;
        }
    }

    /// <summary>
    /// GET_DIRTY_BITMAP into <paramref name="bitmap"/> (the typed API), or into the caller's memory at
    /// <paramref name="userAddress"/>, resolved only once the range is known to be sane.
    /// </summary>
    private static Errno GetDirtyBitmap(this IommufdFile file, uint hwptId, IommuHwptGetDirtyBitmapFlags flags, ulong iova, ulong length, ulong pageSize, Span<byte> bitmap, ulong? userAddress)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if ((flags & ~IommuHwptGetDirtyBitmapFlags.NoClear) != 0)
        {
            return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{(uint)flags:x} has unknown bits"));
        }

        var rc = file.Objects.Get<HwptPagingObject>(hwptId, out var hwpt);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (hwpt)
        {
            var ioas = hwpt.Object.Ioas;
            if (CheckDirtyRange(ioas.IovaAlignment, iova, length, pageSize) is { } bad)
            {
                return call.Done(Refusal.Because(bad, $"iova 0x{iova:x} length 0x{length:x} page_size 0x{pageSize:x} is not a range of whole pages"));
            }

            if (hwpt.Object.PagingDomain.DirtyOps is not { } ops)
            {
                return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"HWPT {hwptId} was not allocated with DIRTY_TRACKING"));
            }

            // iova_bitmap_alloc() pins the bitmap's words for writing before the walk: a bitmap that is not all
            // there or cannot be written is EFAULT here before any dirty bit is cleared.
            ulong bytes = DirtyBitmap.ByteLength(length, pageSize) ?? ulong.MaxValue;
            var target = bytes > int.MaxValue ? default
                : userAddress is { } address ? UserSpan.Resolve(file.Memory, address, bytes)
                : bitmap;
            if (bytes > int.MaxValue || target.IsNull || (ulong)target.Accessible.Length < bytes || !target.Commit((int)bytes))
            {
                return call.Done(Refusal.Because(Errno.EFAULT, $"the bitmap's 0x{bytes:x} bytes cannot be written"));
            }

            var bits = new DirtyBitmap(target.Accessible[..(int)bytes], iova, length, pageSize);
            rc = ioas.ReadAndClearDirty(ops, iova, iova + (length - 1), (flags & IommuHwptGetDirtyBitmapFlags.NoClear) != 0, ref bits);
            return call.Done(target.Commit((int)bytes) ? rc : Errno.EFAULT);
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
    /// hw_pagetable.c iommufd_hwpt_paging_alloc() and, for HWPT_ALLOC, the fault queue looked up after the domain
    /// exists (iommufd_hwpt_alloc()): a bad fault ID undoes the domain.
    /// </summary>
    internal static Errno CreatePagingHwpt(this IommufdFile file, EndpointDevice device, IoasObject ioas, IommuHwptAllocFlags flags, uint faultId, bool autoDomain, out HwptPagingObject hwpt)
    {
        hwpt = null!;
        if (file.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = device.Iommu.AllocPagingDomain(device, flags & ~IommuHwptAllocFlags.FaultIdValid, out var domain);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = ioas.AddDomain(domain);
        if (rc != Errno.Success)
        {
            domain.Free();
            return rc;
        }

        rc = file.LookupFault(flags, faultId, out var fault);
        if (rc != Errno.Success)
        {
            ioas.RemoveDomain(domain);
            domain.Free();
            return rc;
        }

        using (fault)
        {
            hwpt = new HwptPagingObject(ioas, domain)
            {
                Fault = fault.Object,
                IsAutoDomain = autoDomain,
                PasidCompat = (flags & IommuHwptAllocFlags.AllocPasid) != 0,
            };
            ioas.AddUser();
            fault.Object?.AddUser();
            if (autoDomain)
            {
                hwpt.AddUser(); // the attaching caller's reference, so that no DESTROY can claim it before it is attached
            }

            file.Objects.Add(hwpt);
            return Errno.Success;
        }
    }

    /// <summary>
    /// The fault queue FAULT_ID_VALID names, held until the caller's HWPT has taken its own reference (an empty
    /// handle without the flag).
    /// </summary>
    private static Errno LookupFault(this IommufdFile file, IommuHwptAllocFlags flags, uint faultId, out ObjectRef<FaultObject> fault)
    {
        fault = default;
        return (flags & IommuHwptAllocFlags.FaultIdValid) == 0 ? Errno.Success : file.Objects.Get(faultId, out fault);
    }

    private static Errno AllocPaging(this IommufdFile file, EndpointDevice device, IoasObject ioas, IommuHwptAllocFlags flags, UserData data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        if ((flags & ~PagingFlags) != 0 || !data.IsEmpty)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"a paging HWPT takes no driver data and flags 0x{(uint)flags:x} has bits it does not know");
        }

        if ((flags & IommuHwptAllocFlags.DirtyTracking) != 0 && !device.Iommu.SupportsDirtyTracking(device))
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"{device} cannot track dirty pages (IOMMU_CAP_DIRTY_TRACKING)");
        }

        var rc = file.CreatePagingHwpt(device, ioas, flags, faultId, autoDomain: false, out var hwpt);
        hwptId = rc == Errno.Success ? hwpt.Id : 0;
        return rc;
    }

    private static Errno AllocNestedOnParent(this IommufdFile file, EndpointDevice device, HwptPagingObject parent, IommuHwptAllocFlags flags, UserData data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        if ((flags & ~NestedFlags) != 0 || data.IsEmpty)
        {
            // hw_pagetable.c iommufd_hwpt_nested_alloc(): FAULT_ID_VALID and ALLOC_PASID only
            return Refusal.Because(Errno.EOPNOTSUPP, $"a nested HWPT needs driver data and takes only FAULT_ID_VALID and ALLOC_PASID (flags 0x{(uint)flags:x})");
        }

        if (parent.IsAutoDomain || !parent.PagingDomain.IsNestParent || parent.PagingDomain.Iommu != device.Iommu)
        {
            return Refusal.Because(Errno.EINVAL, $"HWPT {parent.Id} is not a NEST_PARENT of the device's IOMMU");
        }

        if (file.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = device.Iommu.AllocNestedDomain(device, parent.PagingDomain, flags & ~IommuHwptAllocFlags.FaultIdValid, data, out var domain);
        return rc != Errno.Success ? rc : file.AddNested(domain, parent, viommu: null, flags, faultId, out hwptId);
    }

    private static Errno AllocNestedOnViommu(this IommufdFile file, EndpointDevice device, ViommuObject viommu, IommuHwptAllocFlags flags, UserData data, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        if (viommu.Iommu != device.Iommu)
        {
            // iommufd_hwpt_alloc() checks the vIOMMU's IOMMU before the flags
            return Refusal.Because(Errno.EINVAL, $"vIOMMU {viommu.Id} is on another IOMMU than the device");
        }

        if ((flags & ~NestedFlags) != 0 || data.IsEmpty || viommu.Driver is not IViommuNestedDomains ops)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"vIOMMU {viommu.Id} takes a nested HWPT with driver data and known flags only (flags 0x{(uint)flags:x}, data_len {data.Length})");
        }

        if (file.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = ops.AllocNestedDomain(flags & ~IommuHwptAllocFlags.FaultIdValid, data, out var domain);
        return rc != Errno.Success ? rc : file.AddNested(domain, parent: null, viommu, flags, faultId, out hwptId);
    }

    /// <summary>
    /// Publishes a nested HWPT once its domain exists; the fault queue is looked up only now, and a bad one frees the
    /// domain (hw_pagetable.c iommufd_hwpt_alloc()).
    /// </summary>
    private static Errno AddNested(this IommufdFile file, INestedDomain domain, HwptPagingObject? parent, ViommuObject? viommu, IommuHwptAllocFlags flags, uint faultId, out uint hwptId)
    {
        hwptId = 0;
        var rc = file.LookupFault(flags, faultId, out var fault);
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
            hwptId = file.Objects.Add(new HwptNestedObject(domain, parent, viommu)
            {
                Fault = fault.Object,
                PasidCompat = (flags & IommuHwptAllocFlags.AllocPasid) != 0,
            });
            return Errno.Success;
        }
    }
}
