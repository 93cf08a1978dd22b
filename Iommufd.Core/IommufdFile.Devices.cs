using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Ioas;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

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
        if (!Platform.TryBind(device, this))
        {
            return Errno.EBUSY;
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
        var rc = _objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (idev)
        lock (_attachLock)
        {
            if (idev.Object.Attached is null)
            {
                return Errno.EINVAL;
            }

            DetachLocked(idev.Object);
            return Errno.Success;
        }
    }

    /// <summary>
    /// Unbinds a device (closing its VFIO cdev): detaches it and force-destroys its vDEVICE, whose ID stays a
    /// tombstone (IOMMU_DESTROY on it is ENOENT) until the file is closed.
    /// </summary>
    public Errno UnbindDevice(uint devId)
    {
        var rc = _objects.Get<DeviceObject>(devId, out var handle);
        if (rc != Errno.Success)
        {
            return rc;
        }

        var idev = handle.Object;
        handle.Dispose();
        Unbind(idev);
        return Errno.Success;
    }

    private void Unbind(DeviceObject idev)
    {
        Viommu.VdeviceObject? vdev;
        lock (idev)
        {
            if (idev.Unbinding)
            {
                return;
            }

            idev.Unbinding = true;
            vdev = idev.Vdevice;
        }

        if (vdev is not null)
        {
            _objects.Remove(vdev, leaveTombstone: true);
            vdev.Destroy();
        }

        lock (_attachLock)
        {
            if (idev.Attached is not null)
            {
                DetachLocked(idev);
            }
        }

        idev.RemoveUser();
        _objects.Remove(idev);
        Platform.Unbind(idev.Device);
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
            lock (_attachLock)
            {
                var idev = idevRef.Object;
                if ((idev.Attached is not null) != replace)
                {
                    return Errno.EINVAL;
                }

                HwptObject hwpt;
                switch (ptRef.Object)
                {
                    case IoasObject ioas:
                        rc = GetAutoDomainLocked(idev.Device, ioas, out hwpt);
                        if (rc != Errno.Success)
                        {
                            return rc;
                        }

                        break;
                    case HwptObject h:
                        hwpt = h;
                        break;
                    default:
                        return Errno.EINVAL;
                }

                if (hwpt == idev.Attached)
                {
                    ptId = hwpt.Id;
                    return Errno.Success;
                }

                rc = hwpt.Domain.Iommu != idev.Device.Iommu
                    ? Errno.EINVAL
                    : idev.Device.Iommu.Attach(idev.Device, hwpt.Domain);
                if (rc != Errno.Success)
                {
                    ReleaseAutoDomainIfUnusedLocked(hwpt);
                    return rc;
                }

                var old = idev.Attached;
                hwpt.AddUser();
                hwpt.AttachedDevices++;
                idev.Attached = hwpt;
                if (old is not null)
                {
                    ReleaseAttachmentLocked(old);
                }

                ptId = hwpt.Id;
                return Errno.Success;
            }
        }
    }

    private void DetachLocked(DeviceObject idev)
    {
        idev.Device.Iommu.Detach(idev.Device);
        var old = idev.Attached!;
        idev.Attached = null;
        ReleaseAttachmentLocked(old);
    }

    private void ReleaseAttachmentLocked(HwptObject hwpt)
    {
        hwpt.AttachedDevices--;
        hwpt.RemoveUser();
        ReleaseAutoDomainIfUnusedLocked(hwpt);
    }

    private Errno GetAutoDomainLocked(EndpointDevice device, IoasObject ioas, out HwptObject hwpt)
    {
        foreach (var auto in _autoDomains)
        {
            if (auto.Ioas == ioas && auto.PagingDomain.Iommu == device.Iommu)
            {
                hwpt = auto;
                return Errno.Success;
            }
        }

        hwpt = null!;
        var rc = CreatePagingHwpt(device, ioas, 0, fault: null, autoDomain: true, out var paging);
        if (rc == Errno.Success)
        {
            _autoDomains.Add(paging);
            hwpt = paging;
        }

        return rc;
    }

    private void ReleaseAutoDomainIfUnusedLocked(HwptObject hwpt)
    {
        if (hwpt is HwptPagingObject { IsAutoDomain: true } auto && auto.AttachedDevices == 0)
        {
            _autoDomains.Remove(auto);
            _objects.Remove(auto);
            auto.Destroy();
        }
    }

    private Errno CreatePagingHwpt(EndpointDevice device, IoasObject ioas, IommuHwptAllocFlags flags, FaultObject? fault, bool autoDomain, out HwptPagingObject hwpt)
    {
        hwpt = null!;
        var rc = device.Iommu.AllocPagingDomain(device, flags, out var domain);
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

        hwpt = new HwptPagingObject(ioas, domain) { Fault = fault, IsAutoDomain = autoDomain };
        ioas.AddUser();
        fault?.AddUser();
        _objects.Add(hwpt);
        return Errno.Success;
    }
}
