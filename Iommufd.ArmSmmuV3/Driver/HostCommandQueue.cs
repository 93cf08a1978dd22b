using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Microsoft.Extensions.Logging;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// The host's side of one command queue: reserves slots, writes commands plus a trailing CMD_SYNC, rings PROD, and
/// waits for the sync. Many threads issue at once without a lock around their batches, as arm-smmu-v3.c's
/// arm_smmu_cmdq_issue_cmdlist() does: a compare-and-swap on software's PROD reserves the slots, each thread writes
/// its own entries and marks them valid, and the thread that found no owner takes ownership of PROD: it waits for the
/// previous owner's doorbell, stops gathering, waits until every entry gathered is valid and rings PROD once for all
/// of them. Waiters hold a shared lock while they wait for their CMD_SYNC, so software's cached CONS (and so the slots
/// it lets be reused) never moves past a sync still waited for: the queue cannot wrap under a waiter.
/// </summary>
/// <remarks>
/// A command error is handled as a host driver does (spec §7.1): the failing entry is replaced by a CMD_SYNC
/// (CERROR_ILL), the fetch retried (CERROR_ABT) or the sync re-run (CERROR_ATC_INV_SYNC), and the batch that contained
/// it gets an errno. Only a batch still waiting for its CMD_SYNC gets one: a batch whose wait timed out leaves its
/// entries in the queue (arm_smmu_cmdq_poll_until_sync returns ETIMEDOUT and the SMMU may still run them), so an error
/// the SMMU meets in them later is fixed and logged but recorded for nobody; otherwise it would be reported to the
/// batch that reuses the slot when the queue has wrapped and index and wrap bit are the same again.
/// </remarks>
public sealed class HostCommandQueue
{
    /// <summary>At most this many commands go in one batch before its CMD_SYNC (Linux: CMDQ_BATCH_ENTRIES − 1).</summary>
    public const int MaxBatch = 63;

    /// <summary>In software's PROD: a thread owns the doorbell, so later reservations join its batch (CMDQ_PROD_OWNED_FLAG).</summary>
    private const uint Owned = 1u << 31;

    private const int ExclusivelyLocked = int.MinValue;

    private readonly CommandQueue _queue;
    private readonly Action<uint> _ringProd;
    private readonly Action _acknowledgeError;
    private readonly Func<bool> _errorActive;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly SmmuV3Metrics? _metrics;
    private readonly uint _size;
    private readonly uint _wrapMask;
    private readonly uint[] _valid; // per slot: the index+wrap position it was last written and published for
    private readonly uint[] _waited; // per slot: the position a batch waits for, until that batch's wait times out
    private readonly Lock _errorLock = new(); // guards _failures and error handling
    private readonly Dictionary<uint, CommandError> _failures = [];
    private int _failureCount; // _failures.Count, written under _errorLock, read without it by a batch that passed its sync
    private ulong _llq; // software's PROD (low half, with Owned) and its cached CONS (high half), changed by CAS only
    private uint _ownerProd; // the PROD the last owner rang: the next owner rings after it
    private int _sharedLock; // issuers waiting for their sync (> 0), or ExclusivelyLocked while CONS is refreshed
    private long _batches;

    internal HostCommandQueue(CommandQueue queue, Action<uint> ringProd, Func<bool> errorActive, Action acknowledgeError, TimeSpan timeout, ILogger logger, SmmuV3Metrics? metrics = null)
    {
        _metrics = metrics;
        _logger = logger;
        _queue = queue;
        _ringProd = ringProd;
        _errorActive = errorActive;
        _acknowledgeError = acknowledgeError;
        _timeout = timeout;

        // The driver programs BASE once, before it issues anything.
        _size = 1u << queue.Log2Size;
        _wrapMask = queue.IndexWrapMask;
        _valid = new uint[_size];
        Array.Fill(_valid, uint.MaxValue); // no position: nothing is published yet
        _waited = new uint[_size];
        Array.Fill(_waited, uint.MaxValue);
        uint prod = queue.Prod & _wrapMask;
        _ownerProd = prod;
        _llq = prod | ((ulong)(queue.Cons & _wrapMask) << 32);
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
        if (!TryReserve(count, out uint start, out bool owner))
        {
            return Errno.ETIMEDOUT;
        }

        try
        {
            uint p = start;
            foreach (ref readonly var c in commands)
            {
                _queue.TryWriteEntry(p, c);
                p = Advance(p, 1);
            }

            _queue.TryWriteEntry(p, SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_SEV));
            for (uint i = 0, q = start; i < count; i++, q = Advance(q, 1))
            {
                _waited[q & (_size - 1)] = q; // before the entry is valid, so before the SMMU can fail on it
                Volatile.Write(ref _valid[q & (_size - 1)], q); // release: the entry is written before it is valid
            }

            if (owner)
            {
                RingGathered(start);
            }

            Interlocked.Increment(ref _batches);
            return WaitForSync(start, count, out failedIndex);
        }
        finally
        {
            SharedUnlock();
        }
    }

    /// <summary>
    /// Reserves <paramref name="count"/> slots and takes the shared lock (arm_smmu_cmdq_issue_cmdlist's cmpxchg on
    /// llq, and arm_smmu_cmdq_shared_lock). <paramref name="owner"/>: no thread owned PROD, so this one rings it.
    /// While the queue looks full: refresh the cached CONS, handle a command error, and give up at the timeout as
    /// arm_smmu_cmdq_poll_until_not_full does (ETIMEDOUT instead of the kernel's endless retry).
    /// </summary>
    private bool TryReserve(uint count, out uint start, out bool owner)
    {
        long deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        var spin = default(SpinWait);
        SharedLock();
        while (true)
        {
            ulong old = Volatile.Read(ref _llq);
            uint prod = (uint)old & ~Owned;
            if (_size - ((prod - (uint)(old >> 32)) & _wrapMask) >= count)
            {
                ulong next = (old & 0xFFFF_FFFF_0000_0000UL) | Advance(prod, count) | Owned;
                if (Interlocked.CompareExchange(ref _llq, next, old) == old)
                {
                    start = prod;
                    owner = ((uint)old & Owned) == 0;
                    return true;
                }

                continue; // another thread reserved first: try again at once
            }

            // Full: let go of the lock so CONS can be refreshed, and let the consumer (and error handling) make room.
            SharedUnlock();
            RefreshCons();
            HandleErrorIfAny();
            if (Environment.TickCount64 >= deadline)
            {
                RecordTimeout("space", prod, _queue.Cons);
                start = 0;
                owner = false;
                return false;
            }

            spin.SpinOnce(sleep1Threshold: -1);
            SharedLock();
        }
    }

    /// <summary>
    /// The owner's part: after the previous owner's doorbell, stop gathering (later reservations own the next batch),
    /// wait until every slot up to the PROD reserved so far is written, and ring PROD once for all of them.
    /// </summary>
    private void RingGathered(uint start)
    {
        var spin = default(SpinWait);
        while (Volatile.Read(ref _ownerProd) != start)
        {
            spin.SpinOnce(sleep1Threshold: -1); // PROD only moves forward: the previous owner rings first
        }

        ulong old = Volatile.Read(ref _llq);
        while (true)
        {
            ulong seen = Interlocked.CompareExchange(ref _llq, old & ~(ulong)Owned, old);
            if (seen == old)
            {
                break;
            }

            old = seen;
        }

        uint prod = (uint)old & ~Owned;
        for (uint q = start; q != prod; q = Advance(q, 1))
        {
            spin = default;
            while (Volatile.Read(ref _valid[q & (_size - 1)]) != q)
            {
                spin.SpinOnce(sleep1Threshold: -1); // a gathered issuer is still writing its entries
            }
        }

        _ringProd(prod);
        Volatile.Write(ref _ownerProd, prod);
    }

    /// <summary>Waits for the batch's CMD_SYNC, handling command errors on the way; the batch's errno.</summary>
    private Errno WaitForSync(uint start, uint count, out int failedIndex)
    {
        failedIndex = -1;
        uint end = Advance(start, count);
        while (true)
        {
            if (!_queue.WaitUntilConsumed(end, _timeout, out var error))
            {
                // arm_smmu_cmdq_poll_until_sync timing out: logged, counted, ETIMEDOUT. The entries stay in the queue
                // and run if the SMMU consumes again; nothing of this batch is reported as done, and no error in it
                // is reported to anyone.
                RecordTimeout("sync", end, _queue.Cons);
                Abandon(start, count);
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

    private uint Advance(uint position, uint count) => (position + count) & _wrapMask;

    private void SharedLock()
    {
        var spin = default(SpinWait);
        while (true)
        {
            int value = Volatile.Read(ref _sharedLock);
            if (value >= 0 && Interlocked.CompareExchange(ref _sharedLock, value + 1, value) == value)
            {
                return;
            }

            spin.SpinOnce(sleep1Threshold: -1); // CONS is being refreshed: a moment
        }
    }

    /// <summary>
    /// Drops the shared lock. The last holder first moves the cached CONS to the hardware's, as
    /// arm_smmu_cmdq_issue_cmdlist does when arm_smmu_cmdq_shared_tryunlock fails: it reads CONS before it checks that
    /// it is alone, so any thread that takes the lock later reserves at or beyond that CONS.
    /// </summary>
    private void SharedUnlock()
    {
        uint cons = _queue.Cons & _wrapMask;
        if (Volatile.Read(ref _sharedLock) == 1)
        {
            AdvanceCachedCons(cons);
        }

        Interlocked.Decrement(ref _sharedLock);
    }

    /// <summary>With nobody waiting for a sync, the cached CONS becomes the hardware's (arm_smmu_cmdq_exclusive_trylock_irqsave).</summary>
    private void RefreshCons()
    {
        if (Interlocked.CompareExchange(ref _sharedLock, ExclusivelyLocked, 0) == 0)
        {
            AdvanceCachedCons(_queue.Cons & _wrapMask);
            Volatile.Write(ref _sharedLock, 0);
        }
    }

    /// <summary>Moves the cached CONS forward to <paramref name="cons"/> (never back: a late, older reading is ignored).</summary>
    private void AdvanceCachedCons(uint cons)
    {
        ulong old = Volatile.Read(ref _llq);
        while (true)
        {
            uint prod = (uint)old & ~Owned;
            uint cached = (uint)(old >> 32);
            uint ahead = (cons - cached) & _wrapMask;
            if (ahead == 0 || ahead > ((prod - cached) & _wrapMask))
            {
                return; // not ahead of the cached CONS, or beyond PROD (stale)
            }

            ulong seen = Interlocked.CompareExchange(ref _llq, (old & 0xFFFF_FFFFUL) | ((ulong)cons << 32), old);
            if (seen == old)
            {
                return;
            }

            old = seen;
        }
    }

    /// <summary>Waits that ended in ETIMEDOUT (for queue space or for a CMD_SYNC).</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    private long _timeouts;

    private void RecordTimeout(string wait, uint prod, uint cons)
    {
        Interlocked.Increment(ref _timeouts);
        _metrics?.RecordTimeout(_queue.Name, wait);
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

    /// <summary>
    /// The batch's errno: the first error recorded in it. Every error recorded in it is taken, so none is left for the
    /// batch that reuses these slots after the queue wraps.
    /// </summary>
    private Errno TakeFailure(uint start, uint count, out int failedIndex)
    {
        failedIndex = -1;
        var first = CommandError.CERROR_NONE;

        // Without the lock first: an error recorded in this batch was recorded before the error was acknowledged, so
        // before the SMMU went on to pass this batch's CMD_SYNC, which the caller has seen (CONS is read with acquire).
        if (Volatile.Read(ref _failureCount) == 0)
        {
            return Errno.Success;
        }

        lock (_errorLock)
        {
            for (uint i = 0; i < count && _failures.Count != 0; i++)
            {
                if (RemoveFailure(Advance(start, i), out var error) && failedIndex < 0)
                {
                    failedIndex = (int)i;
                    first = error;
                }
            }
        }

        return ToErrno(first);
    }

    /// <summary>Removes the failure recorded at <paramref name="position"/>, if any (under <see cref="_errorLock"/>).</summary>
    private bool RemoveFailure(uint position, out CommandError error)
    {
        bool removed = _failures.Remove(position, out error);
        Volatile.Write(ref _failureCount, _failures.Count);
        return removed;
    }

    /// <summary>
    /// A batch stops waiting (its sync timed out): errors already recorded in it are dropped, and those the SMMU meets
    /// in it later are recorded for nobody. Called before the batch lets go of the shared lock, so no other batch has
    /// reserved these slots yet.
    /// </summary>
    private void Abandon(uint start, uint count)
    {
        lock (_errorLock)
        {
            for (uint i = 0, q = start; i < count; i++, q = Advance(q, 1))
            {
                _waited[q & (_size - 1)] = uint.MaxValue;
                RemoveFailure(q, out _);
            }
        }
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

            if (error != CommandError.CERROR_ABT && _waited[position & (_size - 1)] == position)
            {
                _failures[position] = error;
                Volatile.Write(ref _failureCount, _failures.Count);
            }
            else if (error != CommandError.CERROR_ABT)
            {
                Log.StaleCommandError(_logger, _queue.Name, error, position);
            }

            _acknowledgeError();
        }
    }
}
