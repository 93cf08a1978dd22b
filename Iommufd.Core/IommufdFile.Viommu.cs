using Iommufd.Core.Diagnostics;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

// vIOMMU commands: VIOMMU_ALLOC, VDEVICE_ALLOC, VEVENTQ_ALLOC, HW_QUEUE_ALLOC (drivers/iommu/iommufd/viommu.c).
public sealed partial class IommufdFile
{
    /// <summary>
    /// IOMMU_VIOMMU_ALLOC: a vIOMMU of <paramref name="type"/> on the nest-parent HWPT <paramref name="hwptId"/>,
    /// for the IOMMU <paramref name="devId"/> sits behind. <paramref name="data"/> is the driver's in/out blob.
    /// </summary>
    public Errno ViommuAlloc(uint devId, uint hwptId, IommuViommuType type, UserSpan data, out uint viommuId)
    {
        viommuId = 0;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if (type == IommuViommuType.Default)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"type {type} is not a vIOMMU type");
        }

        var rc = _objects.Get<DeviceObject>(devId, out var idev);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (idev)
        {
            var device = idev.Object.Device;
            if (!device.Iommu.SupportsViommu(device, type))
            {
                return Refusal.Because(Errno.EOPNOTSUPP, $"{device.Iommu.Name} has no vIOMMU of type {type}");
            }

            rc = _objects.Get<HwptPagingObject>(hwptId, out var parentRef);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (parentRef)
            {
                var parent = parentRef.Object;
                if (!parent.PagingDomain.IsNestParent)
                {
                    return Refusal.Because(Errno.EINVAL, $"HWPT {parent.Id} was not allocated with NEST_PARENT");
                }

                if (AllocationFails())
                {
                    return Errno.ENOMEM;
                }

                var viommu = new ViommuObject(parent, device.Iommu, type, _mmaps);
                var userData = new UserData((uint)type, data);
                rc = device.Iommu.InitViommu(viommu, device, type, parent.PagingDomain, userData, out var driver);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                viommu.Driver = driver;
                parent.AddUser();
                viommuId = _objects.Add(viommu);
                return Errno.Success;
            }
        }
    }

    /// <summary>
    /// IOMMU_VDEVICE_ALLOC: makes <paramref name="devId"/> known to the vIOMMU's guest as
    /// <paramref name="virtId"/> (its vSID on SMMUv3).
    /// </summary>
    public Errno VdeviceAlloc(uint viommuId, uint devId, ulong virtId, out uint vdeviceId)
    {
        vdeviceId = 0;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = _objects.Get<ViommuObject>(viommuId, out var viommuRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (viommuRef)
        {
            rc = _objects.Get<DeviceObject>(devId, out var idevRef);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (idevRef)
            {
                var viommu = viommuRef.Object;
                var idev = idevRef.Object;
                if (idev.Device.Iommu != viommu.Iommu)
                {
                    return Refusal.Because(Errno.EINVAL, $"device {idev.Id} is behind another IOMMU than vIOMMU {viommu.Id}");
                }

                lock (idev.VdeviceLock)
                {
                    if (idev.Unbinding)
                    {
                        return Refusal.Because(Errno.ENOENT, $"device {idev.Id} is being unbound");
                    }

                    if (idev.Vdevice is not null)
                    {
                        return Refusal.Because(Errno.EEXIST, $"device {idev.Id} already has vDEVICE {idev.Vdevice.Id}");
                    }

                    if (AllocationFails())
                    {
                        return Errno.ENOMEM;
                    }

                    var vdev = new VdeviceObject(viommu, idev, virtId);
                    rc = viommu.AddVdevice(vdev);
                    if (rc != Errno.Success)
                    {
                        return rc;
                    }

                    if (viommu.Driver is IViommuVdevices ops)
                    {
                        rc = ops.InitVdevice(vdev);
                        if (rc != Errno.Success)
                        {
                            viommu.RemoveVdevice(vdev);
                            return rc;
                        }

                        vdev.DriverInitialized = true;
                    }

                    idev.Vdevice = vdev;
                    viommu.AddUser();
                    idev.AddUser();
                    vdeviceId = _objects.Add(vdev);
                    return Errno.Success;
                }
            }
        }
    }

    /// <summary>
    /// IOMMU_VEVENTQ_ALLOC: a queue of at most <paramref name="depth"/> events of <paramref name="type"/> from the
    /// vIOMMU, and the fd they are read from. One queue per type per vIOMMU.
    /// </summary>
    public Errno VeventqAlloc(uint viommuId, IommuVeventqType type, uint depth, out uint veventqId, out int fd)
    {
        veventqId = 0;
        fd = -1;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if (type == IommuVeventqType.Default)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"type {type} is not a vEVENTQ type");
        }

        if (depth == 0)
        {
            return Refusal.Because(Errno.EINVAL, $"veventq_depth 0");
        }

        var rc = _objects.Get<ViommuObject>(viommuId, out var viommuRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (viommuRef)
        {
            var viommu = viommuRef.Object;
            if (AllocationFails())
            {
                return Errno.ENOMEM;
            }

            var queue = new VeventqObject(viommu, type, depth);
            rc = viommu.AddEventQueue(queue);
            if (rc != Errno.Success)
            {
                return rc;
            }

            viommu.AddUser();
            queue.AddUser(); // the fd
            veventqId = _objects.Add(queue);
            fd = AddFile(queue);
            queue.Fd = fd;
            return Errno.Success;
        }
    }

    /// <summary>
    /// Waits until the vEVENTQ behind <paramref name="fd"/> has a record to read (what poll(2) reports as
    /// readable). EBADF for an fd that is not a vEVENTQ.
    /// </summary>
    public Task<Errno> WaitForEventsAsync(int fd, CancellationToken cancellationToken = default)
    {
        using var call = EnterCall();
        if (call.Closed || !TryGetFile(fd, out var file))
        {
            return Task.FromResult(Errno.EBADF);
        }

        PutFile(file); // the wait itself holds nothing: destroying the queue completes it
        if (file is not VeventqObject queue)
        {
            return Task.FromResult(Errno.EBADF);
        }

        return WaitCore(queue, cancellationToken);

        static async Task<Errno> WaitCore(VeventqObject queue, CancellationToken ct)
        {
            await queue.WaitAsync(ct).ConfigureAwait(false);
            return Errno.Success;
        }
    }

    /// <summary>
    /// IOMMU_HW_QUEUE_ALLOC: a HW queue of <paramref name="type"/> at <paramref name="index"/>, backed by guest
    /// memory at <paramref name="nestingParentIova"/> in the vIOMMU's parent IOAS, which stays pinned while the
    /// queue exists.
    /// </summary>
    public Errno HwQueueAlloc(uint viommuId, IommuHwQueueType type, uint index, ulong nestingParentIova, ulong length, out uint hwQueueId)
    {
        hwQueueId = 0;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if (type == IommuHwQueueType.Default)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"type {type} is not a HW queue type");
        }

        if (length == 0)
        {
            return Refusal.Because(Errno.EINVAL, $"length 0");
        }

        if (nestingParentIova + length - 1 < nestingParentIova)
        {
            return Refusal.Because(Errno.EOVERFLOW, $"nesting_parent_iova 0x{nestingParentIova:x} + length 0x{length:x} wraps");
        }

        var rc = _objects.Get<ViommuObject>(viommuId, out var viommuRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (viommuRef)
        {
            var viommu = viommuRef.Object;
            if (viommu.Driver is not IViommuHwQueues ops || !ops.SupportsHwQueue(type))
            {
                return Refusal.Because(Errno.EOPNOTSUPP, $"vIOMMU {viommu.Id} has no HW queues of type {type}");
            }

            // viommu.c iommufd_hw_queue_alloc_phys(): the page count of [iova, + length) must be computable.
            ulong offset = nestingParentIova & (PhysicalMemory.PageSize - 1);
            if (length > ulong.MaxValue - offset || offset + length > ulong.MaxValue - (PhysicalMemory.PageSize - 1))
            {
                return Refusal.Because(Errno.ERANGE, $"the pages of [0x{nestingParentIova:x}, + 0x{length:x}) cannot be counted");
            }

            rc = viommu.ParentHwpt.Ioas.PinContiguous(nestingParentIova, length, out ulong basePa, out var pin);
            if (rc != Errno.Success)
            {
                return rc;
            }

            lock (viommu.HwQueueLock)
            {
                if (AllocationFails())
                {
                    pin.Dispose();
                    return Errno.ENOMEM;
                }

                var queue = new HwQueueObject(viommu, type, index, nestingParentIova, length, basePa, pin);
                rc = ops.InitHwQueue(queue, out var driverQueue);
                if (rc != Errno.Success)
                {
                    queue.DependsOn?.RemoveUser();
                    pin.Dispose();
                    return rc;
                }

                queue.Driver = driverQueue;
                viommu.HwQueues[(type, index)] = queue;
                viommu.AddUser();
                hwQueueId = _objects.Add(queue);
                return Errno.Success;
            }
        }
    }

    internal Errno RawViommuAlloc(ref IommuViommuAlloc cmd, ref bool respond)
    {
        // __reserved is not checked, as upstream (viommu.c iommufd_viommu_alloc_ioctl()): a non-zero value is harmless.
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var data = UserSpan.Resolve(Memory, cmd.DataUptr, cmd.DataLen);
        var rc = ViommuAlloc(cmd.DevId, cmd.HwptId, (IommuViommuType)cmd.Type, data, out cmd.OutViommuId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawVdeviceAlloc(ref IommuVdeviceAlloc cmd, ref bool respond)
    {
        var rc = VdeviceAlloc(cmd.ViommuId, cmd.DevId, cmd.VirtId, out cmd.OutVdeviceId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawVeventqAlloc(ref IommuVeventqAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0 || cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} or __reserved 0x{cmd.Reserved:x} is not 0");
        }

        var rc = VeventqAlloc(cmd.ViommuId, (IommuVeventqType)cmd.Type, cmd.VeventqDepth, out cmd.OutVeventqId, out int fd);
        cmd.OutVeventqFd = (uint)fd;
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawHwQueueAlloc(ref IommuHwQueueAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var rc = HwQueueAlloc(cmd.ViommuId, (IommuHwQueueType)cmd.Type, cmd.Index, cmd.NestingParentIova, cmd.Length, out cmd.OutHwQueueId);
        respond = rc == Errno.Success;
        return rc;
    }
}
