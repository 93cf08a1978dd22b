namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The SMMU's count of client transactions in flight, by epoch, so that a CMD_SYNC can wait for every transaction
/// that might have translated through an entry an earlier invalidation removed (IHI 0070 §3.21, §4.7.3: once a
/// CMD_SYNC completes, the effects of the invalidations before it are visible and transactions that used the
/// invalidated translations are complete). A transaction enters before it looks anything up and leaves after its
/// memory access; <see cref="WaitForEarlier"/> opens a new epoch and waits until the previous one is empty.
/// </summary>
/// <remarks>
/// Two counters, one per epoch parity; waits are serialised, so when a wait flips to a new epoch the epoch before
/// the previous one has already drained. A transaction that reads the epoch just before a flip and counts itself
/// in the old slot sees the change and moves to the new one. Nothing waits while holding a transaction: command
/// execution never happens inside one, and no driver code runs inside one either, as a fault's interrupt is raised
/// after its transaction has left (SmmuV3.EventQueue.cs).
/// </remarks>
internal sealed class InFlightTransactions
{
    private readonly Lock _waitLock = new(); // serialises epoch flips
    private readonly long[] _active = new long[2];
    private long _epoch;

    /// <summary>Counts a transaction in; returns the slot to pass to <see cref="Leave"/>.</summary>
    public int Enter()
    {
        while (true)
        {
            long epoch = Volatile.Read(ref _epoch);
            int slot = (int)(epoch & 1);
            Interlocked.Increment(ref _active[slot]);
            if (Volatile.Read(ref _epoch) == epoch)
            {
                return slot;
            }

            Interlocked.Decrement(ref _active[slot]);
        }
    }

    public void Leave(int slot) => Interlocked.Decrement(ref _active[slot]);

    /// <summary>
    /// True when no transaction is in flight. One fence, then plain reads (Interlocked.Read is a compare-exchange
    /// each): what the caller did before the call is ordered before the reads, as a transaction's Enter (an
    /// interlocked increment) is before its lookups, so one of the two sees the other: when this returns true, a
    /// transaction entering afterwards looks up after everything the caller did before the call. The fence writes
    /// nothing shared, so callers on several cores do not contend here.
    /// </summary>
    public bool NoneInFlight()
    {
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref _active[0]) == 0 && Volatile.Read(ref _active[1]) == 0;
    }

    /// <summary>Returns once every transaction that entered before the call has left.</summary>
    public void WaitForEarlier()
    {
        if (NoneInFlight())
        {
            return; // a transaction entering now looks up after the invalidations before this call
        }

        lock (_waitLock)
        {
            long epoch = Interlocked.Increment(ref _epoch) - 1;
            var spin = default(SpinWait);
            while (Interlocked.Read(ref _active[(int)(epoch & 1)]) != 0)
            {
                spin.SpinOnce(); // transactions are short and never block: spin, then yield and sleep
            }
        }
    }
}
