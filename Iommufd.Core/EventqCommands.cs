using Iommufd.Core.Diagnostics;
using Iommufd.Core.Devices;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

/// <summary>
/// The event queues (drivers/iommu/iommufd/eventq.c): IOMMU_FAULT_QUEUE_ALLOC and IOMMU_VEVENTQ_ALLOC, the fds their
/// records are read from, and the waits on them.
/// </summary>
public static class EventqCommands
{
    /// <summary>IOMMU_FAULT_QUEUE_ALLOC: a fault queue and the fd its faults are read from.</summary>
    public static Errno FaultQueueAlloc(this IommufdFile file, out uint faultId, out int fd)
    {
        faultId = 0;
        fd = -1;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if (file.AllocationFails())
        {
            return call.Done(Errno.ENOMEM);
        }

        var fault = new FaultObject();
        fault.AddUser(); // the fd
        faultId = file.Objects.Add(fault);
        fd = file.AddFile(fault);
        return call.Done(Errno.Success);
    }

    /// <summary>
    /// IOMMU_VEVENTQ_ALLOC: a queue of at most <paramref name="depth"/> events of <paramref name="type"/> from the
    /// vIOMMU, and the fd they are read from. One queue per type per vIOMMU.
    /// </summary>
    public static Errno VeventqAlloc(this IommufdFile file, uint viommuId, IommuVeventqType type, uint depth, out uint veventqId, out int fd)
    {
        veventqId = 0;
        fd = -1;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if (type == IommuVeventqType.Default)
        {
            return call.Done(Refusal.Because(Errno.EOPNOTSUPP, $"type {type} is not a vEVENTQ type"));
        }

        if (depth == 0)
        {
            return call.Done(Refusal.Because(Errno.EINVAL, $"veventq_depth 0"));
        }

        var rc = file.Objects.Get<ViommuObject>(viommuId, out var viommuRef);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (viommuRef)
        {
            var viommu = viommuRef.Object;
            if (file.AllocationFails())
            {
                return call.Done(Errno.ENOMEM);
            }

            var queue = new VeventqObject(viommu, type, depth);
            rc = viommu.AddEventQueue(queue);
            if (rc != Errno.Success)
            {
                return call.Done(rc);
            }

            viommu.AddUser();
            queue.AddUser(); // the fd
            veventqId = file.Objects.Add(queue);
            fd = file.AddFile(queue);
            queue.Fd = fd;
            return call.Done(Errno.Success);
        }
    }

    /// <summary>
    /// Waits until the vEVENTQ behind <paramref name="fd"/> has a record to read (what poll(2) reports as
    /// readable). EBADF for an fd that is not a vEVENTQ.
    /// </summary>
    public static Task<Errno> WaitForEventsAsync(this IommufdFile file, int fd, CancellationToken cancellationToken = default)
    {
        using var call = file.EnterCall();
        if (call.Closed || !file.TryGetFile(fd, out var open))
        {
            return Task.FromResult(call.Done(Errno.EBADF));
        }

        IommufdFile.PutFile(open); // the wait itself holds nothing: destroying the queue completes it
        if (open is not VeventqObject queue)
        {
            return Task.FromResult(call.Done(Errno.EBADF));
        }

        call.Done(Errno.Success); // the call is the start of the wait
        return WaitCore(queue, cancellationToken);

        static async Task<Errno> WaitCore(VeventqObject queue, CancellationToken ct)
        {
            await queue.WaitAsync(ct).ConfigureAwait(false);
            return Errno.Success;
        }
    }

    /// <summary>Queues an I/O page fault on the fault queue of the HWPT the device <paramref name="devId"/> is attached to.</summary>
    public static Errno ReportPageFault(this IommufdFile file, uint devId, ulong address, IommuHwptPgfaultPerm permissions)
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
        lock (file.AttachLock)
        {
            if (idev.Object.Attached?.Fault is not { } fault)
            {
                return call.Done(Errno.EINVAL);
            }

            fault.Report(new IommuHwptPgfault
            {
                Flags = (uint)IommuHwptPgfaultFlags.LastPage,
                DevId = devId,
                Perm = (uint)permissions,
                Addr = address,
                Length = PhysicalMemory.PageSize,
            });
            return call.Done(Errno.Success);
        }
    }

    internal static Errno RawFaultQueueAlloc(this IommufdFile file, ref IommuFaultAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var rc = file.FaultQueueAlloc(out cmd.OutFaultId, out int fd);
        cmd.OutFaultFd = (uint)fd;
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawVeventqAlloc(this IommufdFile file, ref IommuVeventqAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0 || cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} or __reserved 0x{cmd.Reserved:x} is not 0");
        }

        var rc = file.VeventqAlloc(cmd.ViommuId, (IommuVeventqType)cmd.Type, cmd.VeventqDepth, out cmd.OutVeventqId, out int fd);
        cmd.OutVeventqFd = (uint)fd;
        respond = rc == Errno.Success;
        return rc;
    }
}
