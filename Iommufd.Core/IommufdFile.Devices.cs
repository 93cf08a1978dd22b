using Iommufd.Core.Diagnostics;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Ioas;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

// Devices, as a VFIO cdev drives them: bind, attach / replace / detach a page table, unbind.
public sealed partial class IommufdFile
{
    private readonly List<HwptPagingObject> _autoDomains = []; // guarded by _attachLock

    /// <summary>
    /// Binds a platform device to this file (VFIO_DEVICE_BIND_IOMMUFD) and returns its device ID. A device
    /// bound to another file is EBUSY.
    /// </summary>
    public Errno BindDevice(EndpointDevice device, out uint devId)
    {
        ArgumentNullException.ThrowIfNull(device);
        devId = 0;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        if (!Platform.TryBind(device, this))
        {
            return Refusal.Because(Errno.EBUSY, $"device {device.Name} is bound to another iommufd file");
        }

        var idev = new DeviceObject(device);
        idev.AddUser(); // the binding itself: IOMMU_DESTROY cannot remove a bound device
        devId = _objects.Add(idev);
        return Errno.Success;
    }

    /// <summary>
    /// Attaches a bound device to a page table (VFIO_DEVICE_ATTACH_IOMMUFD_PT). <paramref name="ptId"/> names an
    /// IOAS (the core then finds or makes an automatic paging domain and returns its HWPT ID) or a HWPT.
    /// </summary>
    public Errno AttachDevice(uint devId, ref uint ptId) => AttachOrReplace(devId, ref ptId, replace: false);

    /// <summary>Moves an attached device to another page table without a blocking window.</summary>
    public Errno ReplaceDevice(uint devId, ref uint ptId) => AttachOrReplace(devId, ref ptId, replace: true);

    /// <summary>Detaches a device (VFIO_DEVICE_DETACH_IOMMUFD_PT): it blocks all DMA afterwards.</summary>
    public Errno DetachDevice(uint devId)
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
        {
            HwptPagingObject? released;
            lock (_attachLock)
            {
                if (idev.Object.Attached is null)
                {
                    return Refusal.Because(Errno.EINVAL, $"device {devId} is not attached");
                }

                released = DetachLocked(idev.Object);
            }

            FinishAutoDomainRelease(released);
            return Errno.Success;
        }
    }

    /// <summary>
    /// Unbinds a device (closing its VFIO cdev): waits for the ioctls using it, detaches it and force-destroys its
    /// vDEVICE, whose ID stays a tombstone (IOMMU_DESTROY on it is ENOENT) until the file is closed. ENOENT when the
    /// device is not bound here or is being unbound already.
    /// </summary>
    public Errno UnbindDevice(uint devId)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = _objects.Get<DeviceObject>(devId, out var handle);
        if (rc != Errno.Success)
        {
            return rc;
        }

        var idev = handle.Object;
        handle.Dispose(); // the unbind below waits for every lookup of the device, ours included
        return Unbind(idev) ? Errno.Success : Errno.ENOENT;
    }

    /// <summary>
    /// The order of iommufd_device_unbind (device.c) with VFIO's detach before it: new lookups of the device fail,
    /// ioctls inside it drain (an attach racing the unbind completes first, so the detach below undoes it and the
    /// device cannot keep translating), the device is detached, its vDEVICE destroyed to a tombstone, and once the
    /// last reference on the device is gone (a vDEVICE a racing IOMMU_DESTROY claimed drops its own when its destroy
    /// ends) the device leaves the table and the platform.
    /// </summary>
    private bool Unbind(DeviceObject idev)
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

        if (!_objects.BeginRemove(idev))
        {
            return false;
        }

        ObjectTable.WaitForShortTermUsers(idev);
        HwptPagingObject? released = null;
        lock (_attachLock)
        {
            if (idev.Attached is not null)
            {
                released = DetachLocked(idev);
            }
        }

        FinishAutoDomainRelease(released);
        if (vdev is not null && _objects.BeginRemove(vdev))
        {
            _objects.FinishRemove(vdev, leaveTombstone: true);
        }

        var spin = default(SpinWait);
        while (idev.Users > 2) // the table's reference and the binding
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }

        idev.RemoveUser(); // the binding
        _objects.FinishRemove(idev, leaveTombstone: false);
        Platform.Unbind(idev.Device);
        return true;
    }

    private void UnbindAll()
    {
        foreach (var idev in _objects.Snapshot<DeviceObject>())
        {
            Unbind(idev);
        }
    }

    private Errno AttachOrReplace(uint devId, ref uint ptId, bool replace)
    {
        using var call = EnterCall(replace ? nameof(ReplaceDevice) : nameof(AttachDevice));
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = _objects.Get<DeviceObject>(devId, out var idevRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (idevRef)
        {
            rc = _objects.Get(ptId, out var ptRef);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (ptRef)
            {
                HwptPagingObject? releasedOld, releasedNew;
                lock (_attachLock)
                {
                    rc = AttachLocked(idevRef.Object, ptRef.Object, replace, ref ptId, out releasedOld, out releasedNew);
                }

                // Automatic domains left without devices are destroyed outside the attach lock: their destroy
                // takes the IOAS lock and waits for handle drops (ObjectTable rule "Locks").
                FinishAutoDomainRelease(releasedOld);
                FinishAutoDomainRelease(releasedNew);
                return rc;
            }
        }
    }

    private Errno AttachLocked(DeviceObject idev, IommufdObject pt, bool replace, ref uint ptId, out HwptPagingObject? releasedOld, out HwptPagingObject? releasedNew)
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
                var rc = GetAutoDomainLocked(idev.Device, ioas, out var auto);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                // GetAutoDomainLocked holds a reference on the domain until the attachment has its own.
                try
                {
                    rc = InstallLocked(idev, auto, ref ptId, out releasedOld);
                }
                finally
                {
                    auto.RemoveUser();
                    releasedNew = TryClaimAutoDomainLocked(auto);
                }

                return rc;
            case HwptObject h:
                hwpt = h;
                break;
            default:
                return Refusal.Because(Errno.EINVAL, $"pt_id {ptId} is a {pt.Type}, neither an IOAS nor a HWPT");
        }

        return InstallLocked(idev, hwpt, ref ptId, out releasedOld);
    }

    private Errno InstallLocked(DeviceObject idev, HwptObject hwpt, ref uint ptId, out HwptPagingObject? released)
    {
        released = null;
        if (hwpt == idev.Attached)
        {
            ptId = hwpt.Id;
            return Errno.Success;
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
            released = DropAttachmentLocked(old);
        }

        return Errno.Success;
    }

    /// <returns>An automatic domain claimed for destruction, for <see cref="FinishAutoDomainRelease"/>.</returns>
    private HwptPagingObject? DetachLocked(DeviceObject idev)
    {
        idev.Device.Iommu.Detach(idev.Device);
        var old = idev.Attached!;
        idev.Attached = null;
        return DropAttachmentLocked(old);
    }

    private HwptPagingObject? DropAttachmentLocked(HwptObject hwpt)
    {
        hwpt.AttachedDevices--;
        hwpt.RemoveUser();
        return TryClaimAutoDomainLocked(hwpt);
    }

    /// <summary>
    /// Finds the IOAS's automatic domain on the device's IOMMU, or makes one, and returns it with a reference the
    /// caller drops. Entries already claimed for destruction are skipped and forgotten.
    /// </summary>
    private Errno GetAutoDomainLocked(EndpointDevice device, IoasObject ioas, out HwptPagingObject hwpt)
    {
        for (int i = _autoDomains.Count - 1; i >= 0; i--)
        {
            var auto = _autoDomains[i];
            if (auto.State != ObjectState.Live)
            {
                _autoDomains.RemoveAt(i);
            }
            else if (auto.Ioas == ioas && auto.PagingDomain.Iommu == device.Iommu && auto.TryAddUser())
            {
                hwpt = auto;
                return Errno.Success;
            }
        }

        var rc = CreatePagingHwpt(device, ioas, 0, faultId: 0, autoDomain: true, out hwpt);
        if (rc == Errno.Success)
        {
            _autoDomains.Add(hwpt);
        }

        return rc;
    }

    /// <summary>
    /// The kernel's auto-domain put (iommufd_hw_pagetable_put → iommufd_object_put_and_try_destroy): an automatic
    /// domain without devices is claimed unless someone else holds it (then a later DESTROY or close removes it).
    /// </summary>
    private HwptPagingObject? TryClaimAutoDomainLocked(HwptObject hwpt)
    {
        if (hwpt is HwptPagingObject { IsAutoDomain: true } auto && auto.AttachedDevices == 0 && _objects.TryClaim(auto))
        {
            _autoDomains.Remove(auto);
            return auto;
        }

        return null;
    }

    private void FinishAutoDomainRelease(HwptPagingObject? claimed)
    {
        if (claimed is not null)
        {
            _objects.FinishDestroy(claimed);
        }
    }

    /// <summary>
    /// hw_pagetable.c iommufd_hwpt_paging_alloc() and, for HWPT_ALLOC, the fault queue looked up after the domain
    /// exists (iommufd_hwpt_alloc()): a bad fault ID undoes the domain.
    /// </summary>
    private Errno CreatePagingHwpt(EndpointDevice device, IoasObject ioas, IommuHwptAllocFlags flags, uint faultId, bool autoDomain, out HwptPagingObject hwpt)
    {
        hwpt = null!;
        if (AllocationFails())
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

        rc = LookupFault(flags, faultId, out var fault);
        if (rc != Errno.Success)
        {
            ioas.RemoveDomain(domain);
            domain.Free();
            return rc;
        }

        using (fault)
        {
            hwpt = new HwptPagingObject(ioas, domain) { Fault = fault.Object, IsAutoDomain = autoDomain };
            ioas.AddUser();
            fault.Object?.AddUser();
            if (autoDomain)
            {
                hwpt.AddUser(); // the attaching caller's reference, so that no DESTROY can claim it before it is attached
            }

            _objects.Add(hwpt);
            return Errno.Success;
        }
    }
}
