using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Microsoft.Extensions.Logging;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>True for a command a queue takes.</summary>
internal delegate bool CommandFilter(in SmmuCommand command);

/// <summary>
/// The host's side of one command queue: reserves slots, writes commands plus a trailing CMD_SYNC, rings PROD, and
/// waits for the sync. Many threads issue at once without a lock around their batches, as arm-smmu-v3.c's
/// arm_smmu_cmdq_issue_cmdlist() does: a compare-and-swap on software's PROD reserves the slots, each thread writes
/// its own entries, and the thread that found no owner takes ownership of PROD: it waits for the previous owner's
/// PROD store, stops gathering, waits until every entry it gathered is written and rings PROD once for all of them.
/// Issuers hold a shared lock until their CMD_SYNC has passed, so software's cached CONS (and so the slots it lets be
/// reused) never moves past a sync still waited for: the queue cannot wrap under a waiter.
/// </summary>
/// <remarks>
/// <para>
/// Software's PROD (with the owned flag), its cached CONS and the shared lock's holder count share one 64-bit word,
/// so an uncontended batch costs three compare-and-swaps: reserving (and taking the lock), stopping gathering, and
/// letting go of the lock (the last holder moving the cached CONS to the hardware's in the same CAS, where the kernel
/// takes the lock exclusively).
/// </para>
/// <para>
/// The next owner waits until the PROD register reads its start (the previous owner's store), not until that
/// owner's doorbell returns: a model consuming inline runs the queue inside the doorbell, so the next owner rings
/// while that consumption still runs, which then goes on into the new entries (one runner at a time), and the next
/// owner waits only for its own CMD_SYNC. Serial consumption is shared out, not waited for twice. PROD stores stay in
/// order: each owner stores only after the register shows the one before it.
/// </para>
/// <para>
/// A command error is handled as a host driver does (spec §7.1): the failing entry is replaced by a CMD_SYNC
/// (CERROR_ILL), the fetch retried (CERROR_ABT) or the sync re-run (CERROR_ATC_INV_SYNC), and the batch that contained
/// it gets an errno. Only a batch still waiting for its CMD_SYNC gets one: a batch whose wait timed out leaves its
/// entries in the queue (arm_smmu_cmdq_poll_until_sync returns ETIMEDOUT and the SMMU may still run them), so an error
/// the SMMU meets in them later is fixed and logged but recorded for nobody; otherwise it would be reported to the
/// batch that reuses the slot when the queue has wrapped and index and wrap bit are the same again.
/// </para>
/// </remarks>
internal sealed class HostCommandQueue
{
    /// <summary>At most this many commands go in one batch before its CMD_SYNC (Linux: CMDQ_BATCH_ENTRIES − 1).</summary>
    public const int MaxBatch = 63;

    // The word _llq: PROD (index and wrap, bits 0-23), the owned flag (bit 24, CMDQ_PROD_OWNED_FLAG: a thread owns the
    // doorbell, so later reservations join its batch), the cached CONS (bits 25-48) and the number of shared-lock
    // holders (bits 49-63).
    private const int PositionBits = 24;
    private const ulong PositionMask = (1UL << PositionBits) - 1;
    private const ulong Owned = 1UL << PositionBits;
    private const int ConsShift = PositionBits + 1;
    private const int HoldersShift = ConsShift + PositionBits;
    private const ulong OneHolder = 1UL << HoldersShift;
    private const ulong MaxHolders = (1UL << (64 - HoldersShift)) - 1;
    private const uint BatchStart = 1u << 31; // in a slot's valid mark: the first slot of a batch (positions use 24 bits)

    // Every batch's trailing CMD_SYNC, built once: building it checks its arguments, and writing it through
    // TryWriteEntries is one copy where TryWriteEntry stages the entry on the stack first.
    private static readonly SmmuCommand SyncSev = SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_SEV);

    private readonly CommandQueue _queue;
    private readonly Action<uint> _ringProd;
    private readonly Action _acknowledgeError;
    private readonly Func<bool> _errorActive;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly SmmuV3Metrics? _metrics;
    private readonly uint _size;
    private readonly uint _wrapMask;
    private readonly Slot[] _slots; // per slot of the queue: its valid mark and the position a batch waits for there
    private readonly Lock _errorLock = new(); // guards _failures, the writes of _failureCount, and the CMDQ_ERR fix-up and acknowledge (HandleErrorIfAny)
    private readonly Dictionary<uint, CommandError> _failures = [];
    private int _failureCount; // _failures.Count, written under _errorLock, read without it by a batch that passed its sync
    private LlqWord _llq; // PROD, owned flag, cached CONS and shared-lock holders (see above), changed by CAS only
    private PaddedPosition _owner; // the PROD the last owner rang, set once its doorbell returned, and the batches rung: written by PROD owners only, one after another (see RingGathered)

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
        if (_wrapMask > PositionMask)
        {
            throw new ArgumentException("a host queue has at most 2^23 entries", nameof(queue));
        }

        _slots = new Slot[_size];
        Array.Fill(_slots, new Slot { Valid = uint.MaxValue, Waited = uint.MaxValue }); // no position: nothing is published yet
        uint prod = queue.Prod & _wrapMask;
        _owner.Value = prod;
        _llq.Value = prod | ((ulong)(queue.Cons & _wrapMask) << ConsShift);
    }

    /// <summary>The hardware queue behind it.</summary>
    public CommandQueue Queue => _queue;

    /// <summary>
    /// The commands this queue takes, for a secondary queue that takes only some (arm-smmu-v3.c
    /// arm_smmu_cmdq_supports_cmd(): a queue without a supports_cmd hook takes every command).
    /// </summary>
    internal CommandFilter? Supports { get; init; }

    /// <summary>How long a wait for space or for a CMD_SYNC lasts before it is ETIMEDOUT.</summary>
    internal TimeSpan Timeout => _timeout;

    /// <summary>Batches issued (each with its CMD_SYNC).</summary>
    public long Batches => Volatile.Read(ref _owner.Count);

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
            _queue.TryWriteEntries(start, commands);
            uint p = Advance(start, (uint)commands.Length);

            _queue.TryWriteEntries(p, new ReadOnlySpan<SmmuCommand>(in SyncSev));
            uint end = Advance(p, 1);
            for (uint q = start; q != end; q = Advance(q, 1))
            {
                ref var slot = ref _slots[q & (_size - 1)];
                slot.Waited = q; // before the entry is valid, so before the SMMU can fail on it

                // Release: the entry is written before it is valid. An owner's own slots are never waited for, but
                // are marked too, so a slot always holds its latest position and a stale mark two laps old (the same
                // index and wrap bit) cannot pass for a gathered issuer's. The first slot says a batch starts there,
                // so the owner that rings it counts it.
                Volatile.Write(ref slot.Valid, q == start ? q | BatchStart : q);
            }

            if (owner)
            {
                RingGathered(start, end);
            }

            return WaitForSync(start, end, out failedIndex);
        }
        finally
        {
            SharedUnlock();
        }
    }

    /// <summary>
    /// Reserves <paramref name="count"/> slots and takes the shared lock in one CAS (arm_smmu_cmdq_issue_cmdlist's
    /// cmpxchg on llq, and arm_smmu_cmdq_shared_lock). <paramref name="owner"/>: no thread owned PROD, so this one
    /// rings it. While the queue looks full: refresh the cached CONS, handle a command error, and give up at the
    /// timeout as arm_smmu_cmdq_poll_until_not_full does (ETIMEDOUT instead of the kernel's endless retry).
    /// </summary>
    private bool TryReserve(uint count, out uint start, out bool owner)
    {
        long deadline = 0;
        var poll = default(PausingPoll);
        ulong old = Volatile.Read(ref _llq.Value);
        while (true)
        {
            uint prod = (uint)(old & PositionMask);
            uint cached = (uint)(old >> ConsShift) & (uint)PositionMask;
            if (_size - ((prod - cached) & _wrapMask) >= count && (old >> HoldersShift) != MaxHolders)
            {
                ulong next = ((old & ~PositionMask) + OneHolder) | Advance(prod, count) | Owned;
                ulong seen = Interlocked.CompareExchange(ref _llq.Value, next, old);
                if (seen == old)
                {
                    start = prod;
                    owner = (old & Owned) == 0;
                    return true;
                }

                old = seen; // another thread reserved first: try again at once
                continue;
            }

            // Full: let the consumer (and error handling) make room, and refresh the cached CONS when nobody waits.
            RefreshCons();
            HandleErrorIfAny();
            if (deadline == 0)
            {
                deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
            }
            else if (Environment.TickCount64 >= deadline)
            {
                RecordTimeout("space", prod, _queue.Cons);
                start = 0;
                owner = false;
                return false;
            }

            poll.Pause(); // room comes within a batch's consumption: SpinWait would sched_yield (about 1 µs here) after ten looks
            old = Volatile.Read(ref _llq.Value);
        }
    }

    /// <summary>
    /// The owner's part: after the previous owner's PROD store, stop gathering (later reservations own the next
    /// batch), wait until every slot gathered after its own (<paramref name="ownEnd"/> on) is written, and ring PROD
    /// once for all of them.
    /// </summary>
    /// <remarks>
    /// The previous owner has stored once the register reads this owner's start: the register lags software's PROD by
    /// less than a lap, so it cannot show that value from an earlier lap. Its doorbell returning (<c>_owner.Value</c>)
    /// also proves it, and stays true if the register was reprogrammed under the queue, so the wait always ends.
    /// </remarks>
    private void RingGathered(uint start, uint ownEnd)
    {
        var poll = default(PausingPoll);
        while ((_queue.Prod & _wrapMask) != start && Volatile.Read(ref _owner.Value) != start)
        {
            poll.Pause(); // PROD only moves forward: the previous owner stores first
        }

        ulong old = Volatile.Read(ref _llq.Value);
        while (true)
        {
            ulong seen = Interlocked.CompareExchange(ref _llq.Value, old & ~Owned, old);
            if (seen == old)
            {
                break;
            }

            old = seen;
        }

        uint prod = (uint)(old & PositionMask);
        long batches = 1; // this owner's own
        for (uint q = ownEnd; q != prod; q = Advance(q, 1))
        {
            uint mark;
            while (((mark = Volatile.Read(ref _slots[q & (_size - 1)].Valid)) & ~BatchStart) != q)
            {
                poll.Pause(); // a gathered issuer is still writing its entries
            }

            if ((mark & BatchStart) != 0)
            {
                batches++;
            }
        }

        // Owners run this one after another (each waits for the previous one's PROD store, which follows this write),
        // so the count needs no interlocked add.
        Volatile.Write(ref _owner.Count, _owner.Count + batches);
        _ringProd(prod);
        Volatile.Write(ref _owner.Value, prod);
    }

    /// <summary>Waits for the batch's CMD_SYNC, handling command errors on the way; the batch's errno.</summary>
    private Errno WaitForSync(uint start, uint end, out int failedIndex)
    {
        failedIndex = -1;
        while (true)
        {
            if (!_queue.WaitUntilConsumed(end, _timeout, out var error))
            {
                // arm_smmu_cmdq_poll_until_sync timing out: logged, counted, ETIMEDOUT. The entries stay in the queue
                // and run if the SMMU consumes again; nothing of this batch is reported as done, and no error in it
                // is reported to anyone.
                RecordTimeout("sync", end, _queue.Cons);
                Abandon(start, end);
                return Errno.ETIMEDOUT;
            }

            if (error == CommandError.CERROR_NONE)
            {
                break;
            }

            HandleErrorIfAny();
        }

        return TakeFailure(start, end, out failedIndex);
    }

    private uint Advance(uint position, uint count) => (position + count) & _wrapMask;

    /// <summary>
    /// Drops the shared lock. The last holder moves the cached CONS to the hardware's in the same CAS, as
    /// arm_smmu_cmdq_issue_cmdlist does when arm_smmu_cmdq_shared_tryunlock fails: CONS is read before the CAS that
    /// proves this holder alone, so any thread that takes the lock later reserves at or beyond that CONS.
    /// </summary>
    private void SharedUnlock()
    {
        uint cons = _queue.Cons & _wrapMask;
        ulong old = Volatile.Read(ref _llq.Value);
        while (true)
        {
            ulong next = old - OneHolder;
            if ((old >> HoldersShift) == 1)
            {
                next = WithCachedCons(next, cons);
            }

            ulong seen = Interlocked.CompareExchange(ref _llq.Value, next, old);
            if (seen == old)
            {
                return;
            }

            old = seen;
        }
    }

    /// <summary>With nobody holding the shared lock, the cached CONS becomes the hardware's (arm_smmu_cmdq_exclusive_trylock_irqsave).</summary>
    private void RefreshCons()
    {
        ulong old = Volatile.Read(ref _llq.Value);
        if ((old >> HoldersShift) != 0)
        {
            return;
        }

        ulong next = WithCachedCons(old, _queue.Cons & _wrapMask);
        if (next != old)
        {
            Interlocked.CompareExchange(ref _llq.Value, next, old); // fails only if someone reserved since: they refresh later
        }
    }

    /// <summary>
    /// <paramref name="llq"/> with its cached CONS moved forward to <paramref name="cons"/> (never back: a late, older
    /// reading, or one beyond PROD, leaves it as it is).
    /// </summary>
    private ulong WithCachedCons(ulong llq, uint cons)
    {
        uint prod = (uint)(llq & PositionMask);
        uint cached = (uint)(llq >> ConsShift) & (uint)PositionMask;
        uint ahead = (cons - cached) & _wrapMask;
        if (ahead == 0 || ahead > ((prod - cached) & _wrapMask))
        {
            return llq;
        }

        return (llq & ~(PositionMask << ConsShift)) | ((ulong)cons << ConsShift);
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
    private Errno TakeFailure(uint start, uint end, out int failedIndex)
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
            uint count = (end - start) & _wrapMask;
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
    private void Abandon(uint start, uint end)
    {
        lock (_errorLock)
        {
            for (uint q = start; q != end; q = Advance(q, 1))
            {
                _slots[q & (_size - 1)].Waited = uint.MaxValue;
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

            if (error != CommandError.CERROR_ABT && _slots[position & (_size - 1)].Waited == position)
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

    /// <summary>
    /// The word every issuer compare-and-swaps, alone on its cache lines, so those CASes do not pull away the line of
    /// the fields every issuer only reads (the queue, the slots, the geometry).
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = (2 * CacheLine.Padding) + 8)]
    private struct LlqWord
    {
        [FieldOffset(CacheLine.Padding)]
        public ulong Value;
    }

    /// <summary>One queue slot's bookkeeping, together so an issuer's two stores hit one cache line.</summary>
    private struct Slot
    {
        public uint Valid; // the index+wrap position it was last written and published for
        public uint Waited; // the position a batch waits for, until that batch's wait times out
    }
}
