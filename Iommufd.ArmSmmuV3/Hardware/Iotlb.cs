namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The SMMU's TLB: translations keyed by (VMID, ASID, stage, input block). DMA fills and hits it; TLBI commands
/// remove exactly the entries the specification names (spec §4.4). It is shared by every queue of the SMMU.
/// </summary>
/// <remarks>
/// Global stage-1 entries (nG = 0) and stage-2 entries carry <see cref="TlbEntry.NoAsid"/>. When full, an
/// arbitrary entry is evicted. Walk caches (non-leaf entries) are not modelled, so Leaf = 0 and Leaf = 1 have
/// the same effect.
/// </remarks>
internal sealed class Iotlb
{
    private readonly Lock _lock = new(); // guards _entries, _shifts and the writes of _live (not _generation: see RemoveWhere)
    private readonly Dictionary<Key, TlbEntry> _entries = [];
    private readonly int _capacity;
    private readonly InFlightTransactions? _transactions; // the transactions that fill this TLB (null: not known)
    private ulong _shifts; // bit n set: some entry has block shift n (lookups try only those sizes)
    private long _generation; // bumped by every invalidation, without the lock (see RemoveWhere)
    private int _live; // _entries.Count, written under the lock, read without it by an invalidation of an empty TLB

    /// <summary>
    /// A TLB of <paramref name="capacity"/> entries. With <paramref name="transactions"/>, the transactions every
    /// fill of this TLB happens inside, an invalidation that finds nothing cached and no transaction in flight
    /// leaves <see cref="Generation"/> as it is (see RemoveWhere).
    /// </summary>
    public Iotlb(int capacity = 4096, InFlightTransactions? transactions = null)
    {
        _capacity = capacity;
        _transactions = transactions;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Looks up <paramref name="input"/> for a context; global entries match any ASID.</summary>
    public bool TryLookup(ushort vmid, int asid, TlbStage stage, ulong input, out TlbEntry entry)
    {
        lock (_lock)
        {
            ulong shifts = _shifts;
            while (shifts != 0)
            {
                int shift = System.Numerics.BitOperations.TrailingZeroCount(shifts);
                shifts &= shifts - 1;
                ulong block = input >> shift;
                if (_entries.TryGetValue(new Key(vmid, asid, stage, block, (byte)shift), out entry)
                    || (asid != TlbEntry.NoAsid && _entries.TryGetValue(new Key(vmid, TlbEntry.NoAsid, stage, block, (byte)shift), out entry)))
                {
                    return true;
                }
            }
        }

        entry = default;
        return false;
    }

    /// <summary>Caches a translation.</summary>
    /// <summary>
    /// Changes with every invalidation. A translation takes it before its lookup and walk and inserts with
    /// <see cref="TryInsert"/>, so a walk that raced an invalidation cannot leave its (possibly stale) result
    /// cached after the invalidation ran.
    /// </summary>
    public long Generation => Volatile.Read(ref _generation);

    public void Insert(in TlbEntry entry) => TryInsert(entry, generation: null);

    /// <summary>Inserts <paramref name="entry"/> unless an invalidation ran since <paramref name="generation"/> was read.</summary>
    public bool TryInsert(in TlbEntry entry, long? generation)
    {
        lock (_lock)
        {
            if (generation is { } seen && seen != Volatile.Read(ref _generation))
            {
                return false;
            }

            if (_entries.Count >= _capacity)
            {
                foreach (var victim in _entries.Keys)
                {
                    _entries.Remove(victim);
                    break;
                }
            }

            var key = KeyOf(entry);
            _entries[key] = entry;
            _shifts |= 1UL << entry.Shift;
            Volatile.Write(ref _live, _entries.Count);
            if (generation is { } before)
            {
                // An invalidation that found the TLB empty did not take the lock: it bumped the generation (a full
                // fence) before it read the count, and the fence here orders the count before the generation is read
                // again, so either it saw this entry or this insert sees its bump and takes the entry back.
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _generation) != before)
                {
                    _entries.Remove(key);
                    Volatile.Write(ref _live, _entries.Count);
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Every entry, for tests and diagnostics.</summary>
    public List<TlbEntry> Snapshot()
    {
        lock (_lock)
        {
            return [.. _entries.Values];
        }
    }

    /// <summary>TLBI_NSNH_ALL: every entry.</summary>
    public int InvalidateAll() => RemoveWhere(static (in TlbEntry _, in Filter _) => true, default);

    /// <summary>TLBI_S12_VMALL: every entry of a VMID, both stages.</summary>
    public int InvalidateVmid(ushort vmid) =>
        RemoveWhere(static (in TlbEntry e, in Filter f) => e.Vmid == f.Vmid, new Filter { Vmid = vmid });

    /// <summary>TLBI_NH_ALL: every stage-1 (and combined) entry of a VMID.</summary>
    public int InvalidateVmidStage1(ushort vmid) =>
        RemoveWhere(static (in TlbEntry e, in Filter f) => e.Vmid == f.Vmid && e.Stage != TlbStage.Stage2, new Filter { Vmid = vmid });

    /// <summary>TLBI_NH_ASID: the non-global stage-1 entries of one ASID in a VMID.</summary>
    public int InvalidateAsid(ushort vmid, int asid) =>
        RemoveWhere(static (in TlbEntry e, in Filter f) => e.Vmid == f.Vmid && e.Stage != TlbStage.Stage2 && e.Asid == f.Asid, new Filter { Vmid = vmid, Asid = asid });

    /// <summary>
    /// TLBI_NH_VA (one ASID plus global entries) or TLBI_NH_VAA (<paramref name="asid"/> = null: every ASID):
    /// stage-1 entries overlapping [<paramref name="start"/>, <paramref name="last"/>]. A non-zero
    /// <paramref name="onlyShift"/> (from TTL) limits it to entries of that block size.
    /// </summary>
    public int InvalidateVa(ushort vmid, int? asid, ulong start, ulong last, int onlyShift = 0) =>
        RemoveWhere(
            static (in TlbEntry e, in Filter f) => e.Vmid == f.Vmid && e.Stage != TlbStage.Stage2
                && (f.AnyAsid || e.Asid == f.Asid || e.Asid == TlbEntry.NoAsid)
                && e.Overlaps(f.Start, f.Last) && (f.OnlyShift == 0 || e.Shift == f.OnlyShift),
            new Filter { Vmid = vmid, Asid = asid ?? 0, AnyAsid = asid is null, Start = start, Last = last, OnlyShift = onlyShift });

    /// <summary>TLBI_S2_IPA: stage-2-only entries overlapping the IPA range (combined entries need not be hit).</summary>
    public int InvalidateIpa(ushort vmid, ulong start, ulong last, int onlyShift = 0) =>
        RemoveWhere(
            static (in TlbEntry e, in Filter f) => e.Vmid == f.Vmid && e.Stage == TlbStage.Stage2
                && e.Overlaps(f.Start, f.Last) && (f.OnlyShift == 0 || e.Shift == f.OnlyShift),
            new Filter { Vmid = vmid, Start = start, Last = last, OnlyShift = onlyShift });

    private delegate bool Predicate(in TlbEntry entry, in Filter filter);

    /// <summary>
    /// True when an invalidation now has nothing to do: no transaction in flight (read after a fence) and nothing
    /// cached. A walk that starts later reads the tables after the writes the caller's invalidation follows, and one
    /// that has finished made the TLB non-empty (it inserted before it left, and the count is read after its leaving
    /// was seen), so there is nothing to remove and no stale result to come. False when the transactions are not known.
    /// The count is looked at first as well, so a TLB holding entries answers without the fence.
    /// </summary>
    public bool Idle => _transactions is { } transactions && Volatile.Read(ref _live) == 0 && transactions.NoneInFlight() && Volatile.Read(ref _live) == 0;

    private int RemoveWhere(Predicate predicate, in Filter filter)
    {
        // Idle: the generation, one word every queue's invalidations would write, stays.
        if (Idle)
        {
            return 0;
        }

        // Otherwise the generation moves first (a full fence), so a walk that raced this invalidation does not cache
        // its result (see TryInsert); then, with nothing cached, there is nothing to remove and the lock is not taken.
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _live) == 0)
        {
            return 0;
        }

        int removed = 0;
        lock (_lock)
        {
            foreach (var (key, entry) in _entries)
            {
                if (predicate(entry, filter))
                {
                    _entries.Remove(key); // removing during enumeration is allowed for Dictionary
                    removed++;
                }
            }

            Volatile.Write(ref _live, _entries.Count);
        }

        return removed;
    }

    private static Key KeyOf(in TlbEntry e) => new(e.Vmid, e.Asid, e.Stage, e.InputBase >> e.Shift, (byte)e.Shift);

    private readonly record struct Key(ushort Vmid, int Asid, TlbStage Stage, ulong Block, byte Shift);

    private struct Filter
    {
        public ushort Vmid;
        public int Asid;
        public bool AnyAsid;
        public ulong Start;
        public ulong Last;
        public int OnlyShift;
    }
}
