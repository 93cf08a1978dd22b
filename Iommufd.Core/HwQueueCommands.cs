using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

/// <summary>
/// HW queues (drivers/iommu/iommufd/viommu.c iommufd_hw_queue_alloc_ioctl()): IOMMU_HW_QUEUE_ALLOC, a vIOMMU's
/// queue in guest memory that the hardware (or its software model) reads directly.
/// </summary>
public static class HwQueueCommands
{
    /// <summary>
    /// IOMMU_HW_QUEUE_ALLOC: a HW queue of <paramref name="type"/> at <paramref name="index"/>, backed by guest
    /// memory at <paramref name="nestingParentIova"/> in the vIOMMU's parent IOAS, which stays pinned while the
    /// queue exists.
    /// </summary>
    public static Errno HwQueueAlloc(this IommufdFile file, uint viommuId, IommuHwQueueType type, uint index, ulong nestingParentIova, ulong length, out uint hwQueueId)
    {
        hwQueueId = 0;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if (type == IommuHwQueueType.Default)
        {
            return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"type {type} is not a HW queue type"));
        }

        if (length == 0)
        {
            return call.Done(Refusal.Because(Errno.EINVAL, $"length 0"));
        }

        if (nestingParentIova + length - 1 < nestingParentIova)
        {
            return call.Done(Refusal.Because(Errno.EOVERFLOW, $"nesting_parent_iova 0x{nestingParentIova:x} + length 0x{length:x} wraps"));
        }

        var rc = file.Objects.Get<ViommuObject>(viommuId, out var viommuRef);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (viommuRef)
        {
            var viommu = viommuRef.Object;
            if (viommu.Driver is not IViommuHwQueues ops || !ops.SupportsHwQueue(type))
            {
                return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"vIOMMU {viommu.Id} has no HW queues of type {type}"));
            }

            // viommu.c iommufd_hw_queue_alloc_phys(): the page count of [iova, + length) must be computable.
            ulong offset = nestingParentIova & (PhysicalMemory.PageSize - 1);
            if (length > ulong.MaxValue - offset || offset + length > ulong.MaxValue - (PhysicalMemory.PageSize - 1))
            {
                return call.Done(Refusal.Because(Errno.ERANGE, $"the pages of [0x{nestingParentIova:x}, + 0x{length:x}) cannot be counted"));
            }

            rc = viommu.ParentHwpt.Ioas.PinContiguous(nestingParentIova, length, out ulong basePa, out var pin);
            if (rc != Errno.Success)
            {
                return call.Done(rc);
            }

            lock (viommu.HwQueueLock)
            {
                if (file.AllocationFails())
                {
                    pin.Dispose();
                    return call.Done(Errno.ENOMEM);
                }

                var queue = new HwQueueObject(viommu, type, index, nestingParentIova, length, basePa, pin);
                rc = ops.InitHwQueue(queue, out var driverQueue);
                if (rc != Errno.Success)
                {
                    queue.DependsOn?.RemoveUser();
                    pin.Dispose();
                    return call.Done(rc);
                }

                queue.Driver = driverQueue;
                viommu.HwQueues[(type, index)] = queue;
                viommu.AddUser();
                hwQueueId = file.Objects.Add(queue);
                return call.Done(Errno.Success);
            }
        }
    }

    internal static Errno RawHwQueueAlloc(this IommufdFile file, ref IommuHwQueueAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var rc = file.HwQueueAlloc(cmd.ViommuId, (IommuHwQueueType)cmd.Type, cmd.Index, cmd.NestingParentIova, cmd.Length, out cmd.OutHwQueueId);
        respond = rc == Errno.Success;
        return rc;
    }
}
