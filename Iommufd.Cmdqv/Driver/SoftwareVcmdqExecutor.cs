using System.Collections.Concurrent;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;

namespace Iommufd.Cmdqv.Driver;

/// <summary>
/// The software VCMDQ's back end: where a hardware VCMDQ would hand a (filtered, rewritten) guest command to the
/// SMMU, the host worker validates it as the trap path does and batches it for the SMMU's main queue, issuing the
/// batch when the guest's CMD_SYNC is reached (or 63 commands wait). The guest sees the same CONS, CONS.ERR and
/// GERROR results as with the hardware: a command the host queue cannot take is CERROR_ILL at that command, an
/// ATC invalidation timeout is CERROR_ATC_INV_SYNC at the next CMD_SYNC.
/// </summary>
internal sealed class SoftwareVcmdqExecutor(SmmuV3Host host) : IBatchingExecutor
{
    // The per-queue batches: read on every command without a lock; a queue's entry is added on its first command.
    private readonly ConcurrentDictionary<CommandQueue, Pending> _pending = new();
    private long _forgottenBatches; // the batches of queues torn down

    /// <summary>Host batches issued for guest queues (each queue counts its own: it has one consumer).</summary>
    public long Batches => Interlocked.Read(ref _forgottenBatches) + _pending.Values.Sum(p => Volatile.Read(ref p.Batches));

    public CommandError Execute(in SmmuCommand command, CommandQueue queue)
    {
        var pending = PendingFor(queue);
        if (command.Opcode == SmmuOpcode.CMD_SYNC)
        {
            if (command.Cs == 3 || SmmuCommandLayout.HasReservedBitsSet(command, host.Probed.ArchMinorRevision) || command.SSec)
            {
                return CommandError.CERROR_ILL;
            }

            var rc = IssuePending(pending);
            if (rc == Errno.ETIMEDOUT || queue.AtcInvalidationTimedOut)
            {
                queue.AtcInvalidationTimedOut = false;
                return CommandError.CERROR_ATC_INV_SYNC;
            }

            return rc == Errno.Success ? CommandError.CERROR_NONE : CommandError.CERROR_ILL;
        }

        if (GuestCommandConverter.Validate(command, host.Probed) != GuestCommandConverter.Refusal.None)
        {
            // Commands before it still take effect, as on hardware.
            if (IssuePending(pending) == Errno.ETIMEDOUT)
            {
                queue.AtcInvalidationTimedOut = true;
            }

            return CommandError.CERROR_ILL;
        }

        pending.Commands[pending.Count++] = command;
        if (pending.Count == HostCommandQueue.MaxBatch && IssuePending(pending) == Errno.ETIMEDOUT)
        {
            queue.AtcInvalidationTimedOut = true; // reported by the guest's next CMD_SYNC
        }

        return CommandError.CERROR_NONE;
    }

    public CommandError Flush(CommandQueue queue, CommandError stoppedOn)
    {
        if (IssuePending(PendingFor(queue)) == Errno.ETIMEDOUT)
        {
            queue.AtcInvalidationTimedOut = true;
        }

        return stoppedOn;
    }

    /// <summary>Drops the batch state of a queue that is torn down.</summary>
    public void Forget(CommandQueue queue)
    {
        if (_pending.TryRemove(queue, out var pending))
        {
            Interlocked.Add(ref _forgottenBatches, Volatile.Read(ref pending.Batches));
        }
    }

    private Errno IssuePending(Pending pending)
    {
        if (pending.Count == 0)
        {
            return Errno.Success;
        }

        var rc = host.MainQueue.Issue(pending.Commands.AsSpan(0, pending.Count), out _);
        pending.Count = 0;
        Volatile.Write(ref pending.Batches, pending.Batches + 1); // only the queue's consumer writes it
        return rc;
    }

    private Pending PendingFor(CommandQueue queue)
    {
        return _pending.TryGetValue(queue, out var pending) ? pending : _pending.GetOrAdd(queue, static _ => new Pending());
    }

    /// <summary>Commands consumed from one guest queue and not yet issued (only its consumer touches it).</summary>
    private sealed class Pending
    {
        public readonly SmmuCommand[] Commands = new SmmuCommand[HostCommandQueue.MaxBatch];
        public int Count;
        public long Batches;
    }
}
