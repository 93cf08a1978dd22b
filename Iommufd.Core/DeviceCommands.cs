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
/// Devices (drivers/iommu/iommufd/device.c), as a VFIO cdev drives them: bind, attach / replace / detach a page
/// table (an IOAS gets an automatic paging domain), unbind; and IOMMU_GET_HW_INFO.
/// </summary>
public static class DeviceCommands
{
    /// <summary>IOMMU_NO_PASID: the requests without a PASID, which the RID attachment translates.</summary>
    private const uint NoPasid = 0;

    /// <summary>
    /// Binds a platform device to this file (VFIO_DEVICE_BIND_IOMMUFD) and returns its device ID. A device
    /// bound to another file is EBUSY.
    /// </summary>
    public static Errno BindDevice(this IommufdFile file, EndpointDevice device, out uint devId)
    {
        ArgumentNullException.ThrowIfNull(device);
        devId = 0;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if (file.AllocationFails())
        {
            return call.Done(Errno.ENOMEM);
        }

        if (!file.Platform.TryBind(device, file))
        {
            return call.Done(Refusal.Because(Errno.EBUSY, $"device {device.Name} is bound to another iommufd file"));
        }

        var idev = new DeviceObject(device);
        idev.AddUser(); // the binding itself: IOMMU_DESTROY cannot remove a bound device
        devId = file.Objects.Add(idev);
        return call.Done(Errno.Success);
    }

    /// <summary>
    /// Attaches a bound device to a page table (VFIO_DEVICE_ATTACH_IOMMUFD_PT). <paramref name="ptId"/> names an
    /// IOAS (the core then finds or makes an automatic paging domain and returns its HWPT ID) or a HWPT.
    /// </summary>
    public static Errno AttachDevice(this IommufdFile file, uint devId, ref uint ptId) => file.AttachOrReplace(devId, ref ptId, replace: false);

    /// <summary>Moves an attached device to another page table without a blocking window.</summary>
    public static Errno ReplaceDevice(this IommufdFile file, uint devId, ref uint ptId) => file.AttachOrReplace(devId, ref ptId, replace: true);

    /// <summary>Detaches a device (VFIO_DEVICE_DETACH_IOMMUFD_PT): it blocks all DMA afterwards.</summary>
    public static Errno DetachDevice(this IommufdFile file, uint devId)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.Objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (idev)
        {
            HwptPagingObject? released;
            lock (file.AttachLock)
            {
                if (idev.Object.Attached is null)
                {
                    return call.Done(Refusal.Because(Errno.EINVAL, $"device {devId} is not attached"));
                }

                released = file.DetachLocked(idev.Object);
            }

            file.FinishAutoDomainRelease(released);
            return call.Done(Errno.Success);
        }
    }

    /// <summary>
    /// Attaches PASID <paramref name="pasid"/> of a bound device to a HWPT (device.c iommufd_device_attach() with a
    /// pasid; IOMMU_NO_PASID is <see cref="AttachDevice"/>). <paramref name="ptId"/> names a HWPT allocated with
    /// IOMMU_HWPT_ALLOC_PASID, paging or nested; an IOAS is EINVAL, as the automatic domains it would get are not
    /// PASID-compatible. A PASID already attached is EBUSY (replace it).
    /// </summary>
    public static Errno AttachDevicePasid(this IommufdFile file, uint devId, uint pasid, ref uint ptId) =>
        pasid == NoPasid ? file.AttachDevice(devId, ref ptId) : file.ChangePasid(devId, pasid, ref ptId, replace: false);

    /// <summary>
    /// Moves an attached PASID to another HWPT without a blocking window (device.c iommufd_device_replace() with a
    /// pasid): a PASID not attached is EINVAL; on any error the PASID keeps its HWPT.
    /// </summary>
    public static Errno ReplaceDevicePasid(this IommufdFile file, uint devId, uint pasid, ref uint ptId) =>
        pasid == NoPasid ? file.ReplaceDevice(devId, ref ptId) : file.ChangePasid(devId, pasid, ref ptId, replace: true);

    /// <summary>
    /// Detaches one PASID (device.c iommufd_device_detach() with a pasid): it blocks DMA with that PASID afterwards. A
    /// PASID that is not attached is left as it is and the call succeeds, as the kernel's detach returns nothing.
    /// </summary>
    public static Errno DetachDevicePasid(this IommufdFile file, uint devId, uint pasid)
    {
        if (pasid == NoPasid)
        {
            return file.DetachDevice(devId);
        }

        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.Objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (idev)
        lock (file.AttachLock)
        {
            DetachPasidLocked(idev.Object, pasid);
            return call.Done(Errno.Success);
        }
    }

    /// <summary>
    /// Unbinds a device (closing its VFIO cdev): waits for the ioctls using it, detaches it and force-destroys its
    /// vDEVICE, whose ID stays a tombstone (IOMMU_DESTROY on it is ENOENT) until the file is closed. ENOENT when the
    /// device is not bound here or is being unbound already.
    /// </summary>
    public static Errno UnbindDevice(this IommufdFile file, uint devId)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.Objects.Get<DeviceObject>(devId, out var handle);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        var idev = handle.Object;
        handle.Dispose(); // the unbind below waits for every lookup of the device, ours included
        return call.Done(file.Unbind(idev) ? Errno.Success : Errno.ENOENT);
    }

    /// <summary>
    /// IOMMU_GET_HW_INFO: the driver's info struct for the device, copied into <paramref name="data"/> (truncated,
    /// or with a zeroed tail). <paramref name="info"/> carries the full length and the type.
    /// </summary>
    public static Errno GetHwInfo(this IommufdFile file, uint devId, IommuHwInfoFlags flags, IommuHwInfoType requestedType, UserSpan data, out HwInfoResult info)
    {
        info = default;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if ((flags & ~IommuHwInfoFlags.InputType) != 0)
        {
            return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{(uint)flags:x} has unknown bits"));
        }

        var rc = file.Objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
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
                return call.Done(rc);
            }

            if (device.Iommu.SupportsDirtyTracking(device))
            {
                info = info with { Capabilities = info.Capabilities | IommuHwCapabilities.DirtyTracking }; // iommufd_get_hw_info()
            }

            if (data.Length > 0)
            {
                if (data.IsNull || !data.IsFullyAccessible)
                {
                    return call.Done(Errno.EFAULT);
                }

                int copy = (int)Math.Min((ulong)info.Length, data.Length);
                kernel[..copy].CopyTo(data.Accessible);
                data.Accessible[copy..].Clear();
                if (!data.Commit(data.Accessible.Length))
                {
                    return call.Done(Errno.EFAULT);
                }
            }

            return call.Done(Errno.Success);
        }
    }

    internal static Errno RawGetHwInfo(this IommufdFile file, ref IommuHwInfo cmd, ref bool respond)
    {
        if (cmd.Reserved[0] != 0 || cmd.Reserved[1] != 0 || cmd.Reserved[2] != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved is not 0");
        }

        var data = UserSpan.Resolve(file.Memory, cmd.DataUptr, cmd.DataLen);
        var rc = file.GetHwInfo(cmd.DevId, (IommuHwInfoFlags)cmd.Flags, (IommuHwInfoType)cmd.DataType, data, out var info);
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

    /// <summary>
    /// The order of iommufd_device_unbind (device.c) with VFIO's detach before it: new lookups of the device fail,
    /// ioctls inside it drain (an attach racing the unbind completes first, so the detach below undoes it and the
    /// device cannot keep translating), the device is detached, its vDEVICE destroyed to a tombstone, and once the
    /// last reference on the device is gone (a vDEVICE a racing IOMMU_DESTROY claimed drops its own when its destroy
    /// ends) the device leaves the table and the platform.
    /// </summary>
    internal static bool Unbind(this IommufdFile file, DeviceObject idev)
    {
        VdeviceObject? vdev;
        lock (idev.VdeviceLock)
        {
            if (idev.Unbinding)
            {
                return false;
            }

            idev.Unbinding = true; // no new vDEVICE from here on
            vdev = idev.Vdevice;
        }

        if (!file.Objects.BeginRemove(idev))
        {
            return false;
        }

        ObjectTable.WaitForShortTermUsers(idev);
        HwptPagingObject? released = null;
        lock (file.AttachLock)
        {
            foreach (uint pasid in idev.PasidAttached.Keys.ToArray())
            {
                DetachPasidLocked(idev, pasid);
            }

            if (idev.Attached is not null)
            {
                released = file.DetachLocked(idev);
            }
        }

        file.FinishAutoDomainRelease(released);
        if (vdev is not null && file.Objects.BeginRemove(vdev))
        {
            file.Objects.FinishRemove(vdev, leaveTombstone: true);
        }

        var spin = default(SpinWait);
        while (idev.Users > 2) // the table's reference and the binding
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }

        idev.RemoveUser(); // the binding
        file.Objects.FinishRemove(idev, leaveTombstone: false);
        file.Platform.Unbind(idev.Device);
        return true;
    }

    internal static void UnbindAll(this IommufdFile file)
    {
        foreach (var idev in file.Objects.Snapshot<DeviceObject>())
        {
            file.Unbind(idev);
        }
    }

    private static Errno AttachOrReplace(this IommufdFile file, uint devId, ref uint ptId, bool replace)
    {
        using var call = file.EnterCall(replace ? nameof(ReplaceDevice) : nameof(AttachDevice));
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.GetDeviceAndPt(devId, ptId, out var idevRef, out var ptRef);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (idevRef)
        using (ptRef)
        {
            HwptPagingObject? releasedOld, releasedNew;
            lock (file.AttachLock)
            {
                rc = file.AttachLocked(idevRef.Object, ptRef.Object, replace, ref ptId, out releasedOld, out releasedNew);
            }

            // Automatic domains left without devices are destroyed outside the attach lock: their destroy
            // takes the IOAS lock and waits for handle drops (ObjectTable rule "Locks").
            file.FinishAutoDomainRelease(releasedOld);
            file.FinishAutoDomainRelease(releasedNew);
            return call.Done(rc);
        }
    }

    /// <summary>
    /// device.c iommufd_device_change_pt()'s lookups, shared by the RID and the PASID paths: the device (ENOENT), then
    /// the page table of any kind (ENOENT; the caller answers a wrong kind). On success the caller holds both.
    /// </summary>
    private static Errno GetDeviceAndPt(this IommufdFile file, uint devId, uint ptId, out ObjectRef<DeviceObject> idev, out ObjectRef<IommufdObject> pt)
    {
        pt = default;
        var rc = file.Objects.Get(devId, out idev);
        if (rc == Errno.Success)
        {
            rc = file.Objects.Get(ptId, out pt);
            if (rc != Errno.Success)
            {
                idev.Dispose();
                idev = default;
            }
        }

        return rc;
    }

    private static Errno AttachLocked(this IommufdFile file, DeviceObject idev, IommufdObject pt, bool replace, ref uint ptId, out HwptPagingObject? releasedOld, out HwptPagingObject? releasedNew)
    {
        releasedOld = releasedNew = null;
        if ((idev.Attached is not null) != replace)
        {
            return Refusal.Because(Errno.EINVAL, $"device {idev.Id} is {(replace ? "not attached: nothing to replace" : "already attached: replace it")}");
        }

        HwptObject hwpt;
        switch (pt)
        {
            case IoasObject ioas:
                var rc = file.GetAutoDomainLocked(idev.Device, ioas, out var auto);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                // GetAutoDomainLocked holds a reference on the domain until the attachment has its own.
                try
                {
                    rc = file.InstallLocked(idev, auto, ref ptId, out releasedOld);
                }
                finally
                {
                    auto.RemoveUser();
                    releasedNew = file.TryClaimAutoDomainLocked(auto);
                }

                return rc;
            case HwptObject h:
                hwpt = h;
                break;
            default:
                return Refusal.Because(Errno.EINVAL, $"pt_id {ptId} is a {pt.Type}, neither an IOAS nor a HWPT");
        }

        return file.InstallLocked(idev, hwpt, ref ptId, out releasedOld);
    }

    private static Errno InstallLocked(this IommufdFile file, DeviceObject idev, HwptObject hwpt, ref uint ptId, out HwptPagingObject? released)
    {
        released = null;
        if (hwpt == idev.Attached)
        {
            ptId = hwpt.Id;
            return Errno.Success;
        }

        if (!hwpt.PasidCompat && idev.PasidAttached.Count > 0)
        {
            // device.c iommufd_hwpt_pasid_compat(): the RID's domain must be PASID-compatible while PASIDs are attached
            return Refusal.Because(Errno.EINVAL, $"HWPT {hwpt.Id} was not allocated with ALLOC_PASID and device {idev.Id} has PASIDs attached");
        }

        var rc = hwpt.Domain.Iommu != idev.Device.Iommu
            ? Errno.EINVAL
            : idev.Device.Iommu.Attach(idev.Device, hwpt.Domain);
        if (rc != Errno.Success)
        {
            return rc;
        }

        var old = idev.Attached;
        hwpt.AddUser(); // the attachment; the caller holds a reference on hwpt
        hwpt.AttachedDevices++;
        idev.Attached = hwpt;
        ptId = hwpt.Id;
        if (old is not null)
        {
            released = file.DropAttachmentLocked(old);
        }

        return Errno.Success;
    }

    /// <summary>
    /// device.c iommufd_device_change_pt() for a PASID: the device (ENOENT), the page table (ENOENT; neither a HWPT
    /// nor an IOAS is EINVAL), then iommufd_hw_pagetable_attach() or iommufd_device_do_replace() for the PASID.
    /// </summary>
    private static Errno ChangePasid(this IommufdFile file, uint devId, uint pasid, ref uint ptId, bool replace)
    {
        using var call = file.EnterCall(replace ? nameof(ReplaceDevicePasid) : nameof(AttachDevicePasid));
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.GetDeviceAndPt(devId, ptId, out var idevRef, out var ptRef);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (idevRef)
        using (ptRef)
        {
            lock (file.AttachLock)
            {
                var idev = idevRef.Object;
                switch (ptRef.Object)
                {
                    case HwptObject hwpt:
                        rc = replace ? ReplacePasidLocked(idev, pasid, hwpt) : AttachPasidLocked(idev, pasid, hwpt);
                        break;
                    case IoasObject:
                        // iommufd_device_auto_get_domain(): every automatic domain, old or new, is allocated without
                        // ALLOC_PASID, so each try fails as a HWPT that is not PASID-compatible would: the attach's
                        // device check first (EBUSY), then iommufd_hwpt_pasid_compat() (EINVAL). Nothing is left.
                        rc = !replace && idev.PasidAttached.ContainsKey(pasid)
                            ? Refusal.Because(Errno.EBUSY, $"PASID {pasid} of device {devId} is attached already: replace it")
                            : replace && !idev.PasidAttached.ContainsKey(pasid)
                                ? Refusal.Because(Errno.EINVAL, $"PASID {pasid} of device {devId} is not attached: nothing to replace")
                                : Refusal.Because(Errno.EINVAL, $"IOAS {ptId}'s automatic domains are not PASID-compatible");
                        break;
                    default:
                        rc = Refusal.Because(Errno.EINVAL, $"pt_id {ptId} is a {ptRef.Object.Type}, neither an IOAS nor a HWPT");
                        break;
                }

                if (rc == Errno.Success)
                {
                    ptId = ptRef.Object.Id;
                }

                return call.Done(rc);
            }
        }
    }

    /// <summary>
    /// device.c iommufd_hw_pagetable_attach() for a PASID: the device already on that PASID (EBUSY), then
    /// iommufd_hwpt_attach_device() — iommufd_hwpt_pasid_compat() (EINVAL) and the driver's set_dev_pasid through
    /// iommu.c iommu_attach_device_pasid() (see <see cref="CheckPasidCompat"/>).
    /// </summary>
    private static Errno AttachPasidLocked(DeviceObject idev, uint pasid, HwptObject hwpt)
    {
        if (idev.PasidAttached.ContainsKey(pasid))
        {
            return Refusal.Because(Errno.EBUSY, $"PASID {pasid} of device {idev.Id} is attached already: replace it");
        }

        var rc = CheckPasidCompat(idev, pasid, hwpt);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = TakesPasids(idev) ? idev.Device.Iommu.AttachPasid(idev.Device, pasid, hwpt.Domain, old: null) : Errno.Success;
        if (rc != Errno.Success)
        {
            return rc;
        }

        hwpt.AddUser(); // the PASID's attachment; the caller holds a reference on hwpt
        idev.PasidAttached.Add(pasid, hwpt);
        return Errno.Success;
    }

    /// <summary>
    /// device.c iommufd_device_do_replace() for a PASID: not attached (EINVAL), the same HWPT (nothing to do), then
    /// iommufd_hwpt_replace_device() — iommufd_hwpt_pasid_compat() and iommu.c iommu_replace_device_pasid(); a driver
    /// error leaves the old HWPT attached.
    /// </summary>
    private static Errno ReplacePasidLocked(DeviceObject idev, uint pasid, HwptObject hwpt)
    {
        if (!idev.PasidAttached.TryGetValue(pasid, out var old))
        {
            return Refusal.Because(Errno.EINVAL, $"PASID {pasid} of device {idev.Id} is not attached: nothing to replace");
        }

        if (old == hwpt)
        {
            return Errno.Success;
        }

        var rc = CheckPasidCompat(idev, pasid, hwpt);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = TakesPasids(idev) ? idev.Device.Iommu.AttachPasid(idev.Device, pasid, hwpt.Domain, old.Domain) : Errno.Success;
        if (rc != Errno.Success)
        {
            return rc;
        }

        hwpt.AddUser();
        idev.PasidAttached[pasid] = hwpt;
        old.RemoveUser();
        return Errno.Success;
    }

    /// <summary>
    /// device.c iommufd_hwpt_pasid_compat() for a PASID, then the checks of iommu.c iommu_attach_device_pasid() (and
    /// iommu_replace_device_pasid()) before the driver, in their order: the HWPT must be PASID-compatible, and so must
    /// the RID's (EINVAL); the IOMMU must have set_dev_pasid (EOPNOTSUPP); the domain must be of the device's IOMMU
    /// (EINVAL); a device with a non-zero max_pasids takes only PASIDs below it (EINVAL), and one with none is not
    /// validated at all (iommu.c skips it, as it never emits a PASID).
    /// </summary>
    private static Errno CheckPasidCompat(DeviceObject idev, uint pasid, HwptObject hwpt)
    {
        var device = idev.Device;
        uint max = device.Iommu.MaxPasids(device);
        return !hwpt.PasidCompat ? Refusal.Because(Errno.EINVAL, $"HWPT {hwpt.Id} was not allocated with ALLOC_PASID")
            : idev.Attached is { PasidCompat: false } rid ? Refusal.Because(Errno.EINVAL, $"device {idev.Id}'s RID is attached to HWPT {rid.Id}, which was not allocated with ALLOC_PASID")
            : !device.Iommu.SupportsPasid ? Refusal.Because(Errno.EOPNOTSUPP, $"IOMMU {device.Iommu.Name} has no set_dev_pasid")
            : hwpt.Domain.Iommu != device.Iommu ? Refusal.Because(Errno.EINVAL, $"HWPT {hwpt.Id} is a domain of another IOMMU")
            : max > 0 && pasid >= max ? Refusal.Because(Errno.EINVAL, $"PASID {pasid} is not below the device's max_pasids {max}")
            : Errno.Success;
    }

    /// <summary>
    /// iommu.c __iommu_set_group_pasid() and __iommu_remove_group_pasid(): a device whose max_pasids is 0 is left out of
    /// set_dev_pasid, so its PASID attachment is only the core's record.
    /// </summary>
    private static bool TakesPasids(DeviceObject idev) => idev.Device.Iommu.MaxPasids(idev.Device) > 0;

    /// <summary>device.c iommufd_hw_pagetable_detach() for a PASID: the driver blocks it and the HWPT loses its user.</summary>
    private static void DetachPasidLocked(DeviceObject idev, uint pasid)
    {
        if (idev.PasidAttached.Remove(pasid, out var hwpt))
        {
            if (TakesPasids(idev))
            {
                idev.Device.Iommu.DetachPasid(idev.Device, pasid);
            }

            hwpt.RemoveUser();
        }
    }

    /// <returns>An automatic domain claimed for destruction, for <see cref="FinishAutoDomainRelease"/>.</returns>
    private static HwptPagingObject? DetachLocked(this IommufdFile file, DeviceObject idev)
    {
        idev.Device.Iommu.Detach(idev.Device);
        var old = idev.Attached!;
        idev.Attached = null;
        return file.DropAttachmentLocked(old);
    }

    private static HwptPagingObject? DropAttachmentLocked(this IommufdFile file, HwptObject hwpt)
    {
        hwpt.AttachedDevices--;
        hwpt.RemoveUser();
        return file.TryClaimAutoDomainLocked(hwpt);
    }

    /// <summary>
    /// Finds the IOAS's automatic domain on the device's IOMMU, or makes one, and returns it with a reference the
    /// caller drops. Entries already claimed for destruction are skipped and forgotten.
    /// </summary>
    private static Errno GetAutoDomainLocked(this IommufdFile file, EndpointDevice device, IoasObject ioas, out HwptPagingObject hwpt)
    {
        for (int i = file.AutoDomains.Count - 1; i >= 0; i--)
        {
            var auto = file.AutoDomains[i];
            if (auto.State != ObjectState.Live)
            {
                file.AutoDomains.RemoveAt(i);
            }
            else if (auto.Ioas == ioas && auto.PagingDomain.Iommu == device.Iommu && auto.TryAddUser())
            {
                hwpt = auto;
                return Errno.Success;
            }
        }

        var rc = file.CreatePagingHwpt(device, ioas, 0, faultId: 0, autoDomain: true, out hwpt);
        if (rc == Errno.Success)
        {
            file.AutoDomains.Add(hwpt);
        }

        return rc;
    }

    /// <summary>
    /// The kernel's auto-domain put (iommufd_hw_pagetable_put → iommufd_object_put_and_try_destroy): an automatic
    /// domain without devices is claimed unless someone else holds it (then a later DESTROY or close removes it).
    /// </summary>
    private static HwptPagingObject? TryClaimAutoDomainLocked(this IommufdFile file, HwptObject hwpt)
    {
        if (hwpt is HwptPagingObject { IsAutoDomain: true } auto && auto.AttachedDevices == 0 && file.Objects.TryClaim(auto))
        {
            file.AutoDomains.Remove(auto);
            return auto;
        }

        return null;
    }

    private static void FinishAutoDomainRelease(this IommufdFile file, HwptPagingObject? claimed)
    {
        if (claimed is not null)
        {
            file.Objects.FinishDestroy(claimed);
        }
    }

}
