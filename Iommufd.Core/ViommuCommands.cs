using Iommufd.Core.Diagnostics;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

/// <summary>
/// The vIOMMU and vDEVICE commands (drivers/iommu/iommufd/viommu.c): VIOMMU_ALLOC and VDEVICE_ALLOC.
/// </summary>
public static class ViommuCommands
{
    /// <summary>
    /// IOMMU_VIOMMU_ALLOC: a vIOMMU of <paramref name="type"/> on the nest-parent HWPT <paramref name="hwptId"/>,
    /// for the IOMMU <paramref name="devId"/> sits behind. <paramref name="data"/> is the driver's in/out blob.
    /// </summary>
    public static Errno ViommuAlloc(this IommufdFile file, uint devId, uint hwptId, IommuViommuType type, UserSpan data, out uint viommuId)
    {
        viommuId = 0;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if (type == IommuViommuType.Default)
        {
            return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"type {type} is not a vIOMMU type"));
        }

        var rc = file.Objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (idev)
        {
            var device = idev.Object.Device;
            if (!device.Iommu.SupportsViommu(device, type))
            {
                return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"{device.Iommu.Name} has no vIOMMU of type {type}"));
            }

            rc = file.Objects.Get<HwptPagingObject>(hwptId, out var parentRef);
            if (rc != Errno.Success)
            {
                return call.Done(rc);
            }

            using (parentRef)
            {
                var parent = parentRef.Object;
                if (!parent.PagingDomain.IsNestParent)
                {
                    return call.Done(Refusal.Because(Errno.EINVAL, $"HWPT {parent.Id} was not allocated with NEST_PARENT"));
                }

                if (file.AllocationFails())
                {
                    return call.Done(Errno.ENOMEM);
                }

                var viommu = new ViommuObject(parent, device.Iommu, type, file.Mmaps);
                var userData = new UserData((uint)type, data);
                rc = device.Iommu.InitViommu(viommu, device, type, parent.PagingDomain, userData, out var driver);
                if (rc != Errno.Success)
                {
                    return call.Done(rc);
                }

                viommu.Driver = driver;
                parent.AddUser();
                viommuId = file.Objects.Add(viommu);
                return call.Done(Errno.Success);
            }
        }
    }

    /// <summary>
    /// IOMMU_VDEVICE_ALLOC: makes <paramref name="devId"/> known to the vIOMMU's guest as
    /// <paramref name="virtId"/> (its vSID on SMMUv3).
    /// </summary>
    public static Errno VdeviceAlloc(this IommufdFile file, uint viommuId, uint devId, ulong virtId, out uint vdeviceId)
    {
        vdeviceId = 0;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.Objects.Get<ViommuObject>(viommuId, out var viommuRef);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (viommuRef)
        {
            rc = file.Objects.Get<DeviceObject>(devId, out var idevRef);
            if (rc != Errno.Success)
            {
                return call.Done(rc);
            }

            using (idevRef)
            {
                var viommu = viommuRef.Object;
                var idev = idevRef.Object;
                if (idev.Device.Iommu != viommu.Iommu)
                {
                    return call.Done(Refusal.Because(Errno.EINVAL, $"device {idev.Id} is behind another IOMMU than vIOMMU {viommu.Id}"));
                }

                lock (idev.VdeviceLock)
                {
                    if (idev.Unbinding)
                    {
                        return call.Done(Refusal.Because(Errno.ENOENT, $"device {idev.Id} is being unbound"));
                    }

                    if (idev.Vdevice is not null)
                    {
                        return call.Done(Refusal.Because(Errno.EEXIST, $"device {idev.Id} already has vDEVICE {idev.Vdevice.Id}"));
                    }

                    if (file.AllocationFails())
                    {
                        return call.Done(Errno.ENOMEM);
                    }

                    var vdev = new VdeviceObject(viommu, idev, virtId);
                    rc = viommu.AddVdevice(vdev);
                    if (rc != Errno.Success)
                    {
                        return call.Done(rc);
                    }

                    if (viommu.Driver is IViommuVdevices ops)
                    {
                        rc = ops.InitVdevice(vdev);
                        if (rc != Errno.Success)
                        {
                            viommu.RemoveVdevice(vdev);
                            return call.Done(rc);
                        }

                        vdev.DriverInitialized = true;
                    }

                    idev.Vdevice = vdev;
                    viommu.AddUser();
                    idev.AddUser();
                    vdeviceId = file.Objects.Add(vdev);
                    return call.Done(Errno.Success);
                }
            }
        }
    }

    internal static Errno RawViommuAlloc(this IommufdFile file, ref IommuViommuAlloc cmd, ref bool respond)
    {
        // __reserved is not checked, as upstream (viommu.c iommufd_viommu_alloc_ioctl()): a non-zero value is harmless.
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var data = UserSpan.Resolve(file.Memory, cmd.DataUptr, cmd.DataLen);
        var rc = file.ViommuAlloc(cmd.DevId, cmd.HwptId, (IommuViommuType)cmd.Type, data, out cmd.OutViommuId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawVdeviceAlloc(this IommufdFile file, ref IommuVdeviceAlloc cmd, ref bool respond)
    {
        var rc = file.VdeviceAlloc(cmd.ViommuId, cmd.DevId, cmd.VirtId, out cmd.OutVdeviceId);
        respond = rc == Errno.Success;
        return rc;
    }

}
