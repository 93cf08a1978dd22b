using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Microsoft.Extensions.Logging;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// The host's side of one command queue: reserves slots, writes commands plus a trailing CMD_SYNC, rings PROD, and
/// waits for the sync without holding the producer lock. Safe for many threads issuing at once. A command error
/// is handled as a host driver does (spec §7.1): the failing entry is replaced by a CMD_SYNC (CERROR_ILL), the
/// fetch retried (CERROR_ABT) or the sync re-run (CERROR_ATC_INV_SYNC), and the batch that contained it gets an
/// errno.
/// </summary>
public sealed class HostCommandQueue
{
    /// <summary>At most this many commands go in one batch before its CMD_SYNC (Linux: CMDQ_BATCH_ENTRIES − 1).</summary>
    public const int MaxBatch = 63;

    private readonly CommandQueue _queue;
    private readonly Action<uint> _ringProd;
    private readonly Action _acknowledgeError;
    private readonly Func<bool> _errorActive;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly Lock _produceLock = new(); // guards slot reservation, entry writes and PROD
    private readonly Lock _errorLock = new(); // guards _failures and error handling
    private readonly Dictionary<uint, CommandError> _failures = [];
    private long _batches;

    internal HostCommandQueue(CommandQueue queue, Action<uint> ringProd, Func<bool> errorActive, Action acknowledgeError, TimeSpan timeout, ILogger logger)
    {
        _logger = logger;
        _queue = queue;
        _ringProd = ringProd;
        _errorActive = errorActive;
        _acknowledgeError = acknowledgeError;
        _timeout = timeout;
    }

    /// <summary>The hardware queue behind it.</summary>
    public CommandQueue Queue => _queue;

    /// <summary>Batches issued (each with its CMD_SYNC).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>
    /// Issues <paramref name="commands"/> (at most <see cref="MaxBatch"/>) and a CMD_SYNC, and waits for the sync.
    /// On failure <paramref name="failedIndex"/> is the index of the command the queue stopped on, or
    /// <paramref name="commands"/>.Length when it was the sync (an ATC invalidation that timed out).
    /// </summary>
    public Errno Issue(ReadOnlySpan<SmmuCommand> commands, out int failedIndex)
    {
        failedIndex = -1;
        if (commands.Length > MaxBatch)
        {
            throw new ArgumentException($"at most {MaxBatch} commands per batch", nameof(commands));
        }

        uint count = (uint)commands.Length + 1;
        uint start;
        long spaceDeadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        var spin = default(SpinWait);
        while (true)
        {
            lock (_produceLock)
            {
                start = _queue.Prod;
                if (_queue.FreeEntries(start) >= count)
                {
                    uint p = start;
                    foreach (ref readonly var c in commands)
                    {
                        _queue.TryWriteEntry(p, c);
                        p = _queue.Advance(p, 1);
                    }

                    _queue.TryWriteEntry(p, SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_SEV));
                    _ringProd(_queue.Advance(p, 1));
                    break;
                }
            }

            // Full: let the consumer (and any error handling) make room, without holding the lock. The wait is
            // bounded as arm-smmu-v3.c's arm_smmu_cmdq_poll_until_not_full is; the caller gets ETIMEDOUT instead of
            // the kernel's endless retry, so an ioctl on a stalled SMMU ends.
            HandleErrorIfAny();
            if (Environment.TickCount64 >= spaceDeadline)
            {
                RecordTimeout("space", _queue.Prod, _queue.Cons);
                return Errno.ETIMEDOUT;
            }

            spin.SpinOnce();
        }

        Interlocked.Increment(ref _batches);
        uint end = _queue.Advance(start, count);
        while (true)
        {
            if (!_queue.WaitUntilConsumed(end, _timeout, out var error))
            {
                // arm_smmu_cmdq_poll_until_sync timing out: logged, counted, ETIMEDOUT. The entries stay in the queue
                // and run if the SMMU consumes again; nothing of this batch is reported as done.
                RecordTimeout("sync", end, _queue.Cons);
                return Errno.ETIMEDOUT;
            }

            if (error == CommandError.CERROR_NONE)
            {
                break;
            }

            HandleErrorIfAny();
        }

        return TakeFailure(start, count, out failedIndex);
    }

    /// <summary>Waits that ended in ETIMEDOUT (for queue space or for a CMD_SYNC).</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    private long _timeouts;

    private void RecordTimeout(string wait, uint prod, uint cons)
    {
        Interlocked.Increment(ref _timeouts);
        SmmuV3Metrics.RecordTimeout(_queue.Name, wait);
        Log.QueueTimeout(_logger, _queue.Name, wait, prod, cons);
    }

    /// <summary>The errno a batch gets for a command error inside it.</summary>
    public static Errno ToErrno(CommandError error) => error switch
    {
        CommandError.CERROR_NONE => Errno.Success,
        CommandError.CERROR_ATC_INV_SYNC => Errno.ETIMEDOUT,
        CommandError.CERROR_ABT => Errno.EFAULT,
        _ => Errno.EIO,
    };

    private Errno TakeFailure(uint start, uint count, out int failedIndex)
    {
        failedIndex = -1;
        lock (_errorLock)
        {
            if (_failures.Count == 0)
            {
                return Errno.Success;
            }

            for (uint i = 0; i < count; i++)
            {
                if (_failures.Remove(_queue.Advance(start, i), out var error))
                {
                    failedIndex = (int)i;
                    return ToErrno(error);
                }
            }
        }

        return Errno.Success;
    }

    /// <summary>The GERROR.CMDQ_ERR handler: fix the queue at CONS, remember the failure, acknowledge.</summary>
    private void HandleErrorIfAny()
    {
        lock (_errorLock)
        {
            if (!_errorActive())
            {
                return;
            }

            var error = _queue.Error;
            uint position = _queue.Cons & _queue.IndexWrapMask;
            switch (error)
            {
                case CommandError.CERROR_ILL:
                    // There is no NOP: the failing entry becomes a CMD_SYNC so the queue can go on.
                    _queue.TryWriteEntry(position, SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
                    break;
                case CommandError.CERROR_ABT:
                    break; // fetch again
                case CommandError.CERROR_ATC_INV_SYNC:
                    break; // the sync runs again and completes; the batch reports the timeout
            }

            if (error != CommandError.CERROR_ABT)
            {
                _failures[position] = error;
            }

            _acknowledgeError();
        }
    }
}
