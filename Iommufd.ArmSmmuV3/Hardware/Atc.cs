namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The address translation cache of one ATS-capable endpoint (PCIe ATS): translations the device fetched from
/// the SMMU and uses without asking again, until an ATC_INV removes them. Keyed by substream and input block.
/// </summary>
internal sealed class Atc
{
    /// <summary>The key of translations requested without a PASID.</summary>
    public const uint NoSubstream = uint.MaxValue;

    private readonly Lock _lock = new(); // guards _entries, _shifts and the writes of _generation
    private readonly Dictionary<(uint Ssid, ulong Block, int Shift), TlbEntry> _entries = [];
    private ulong _shifts;
    private long _generation; // bumped by every invalidation (read without the lock, written under it)

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

    public bool TryLookup(uint ssid, ulong input, out TlbEntry entry)
    {
        lock (_lock)
        {
            ulong shifts = _shifts;
            while (shifts != 0)
            {
                int shift = System.Numerics.BitOperations.TrailingZeroCount(shifts);
                shifts &= shifts - 1;
                if (_entries.TryGetValue((ssid, input >> shift, shift), out entry))
                {
                    return true;
                }
            }
        }

        entry = default;
        return false;
    }

    /// <summary>Changes with every invalidation (see <see cref="Iotlb.Generation"/>).</summary>
    public long Generation => Volatile.Read(ref _generation);

    public void Insert(uint ssid, in TlbEntry entry) => TryInsert(ssid, entry, generation: null);

    /// <summary>Inserts <paramref name="entry"/> unless an invalidation ran since <paramref name="generation"/> was read.</summary>
    public bool TryInsert(uint ssid, in TlbEntry entry, long? generation)
    {
        lock (_lock)
        {
            if (generation is { } seen && seen != _generation)
            {
                return false;
            }

            _entries[(ssid, entry.InputBase >> entry.Shift, entry.Shift)] = entry;
            _shifts |= 1UL << entry.Shift;
            return true;
        }
    }

    /// <summary>
    /// ATC_INV: removes entries overlapping [<paramref name="start"/>, <paramref name="last"/>]. Without a PASID
    /// (<paramref name="ssid"/> null, SSV = 0) the request reaches every entry, those fetched with a PASID too
    /// (PCIe ATS; arm-smmu-v3.c arm_smmu_atc_inv_to_cmd: there is no way to invalidate only the entries without
    /// one). With a PASID, the entries of that PASID, and with <paramref name="global"/> (ATC_INV.G) also the
    /// global translations (nG = 0) of every PASID.
    /// </summary>
    public int Invalidate(uint? ssid, ulong start, ulong last, bool global = false)
    {
        int removed = 0;
        lock (_lock)
        {
            Volatile.Write(ref _generation, _generation + 1);
            foreach (var (key, entry) in _entries)
            {
                bool reached = ssid is null || key.Ssid == ssid || (global && key.Ssid != NoSubstream && entry.Asid == TlbEntry.NoAsid);
                if (reached && entry.Overlaps(start, last))
                {
                    _entries.Remove(key);
                    removed++;
                }
            }
        }

        return removed;
    }

    /// <summary>Every cached translation, for tests and diagnostics.</summary>
    public List<TlbEntry> Snapshot()
    {
        lock (_lock)
        {
            return [.. _entries.Values];
        }
    }

    /// <summary>Every cached translation with the substream it was requested for (<see cref="NoSubstream"/>: none).</summary>
    public (uint Ssid, TlbEntry Entry)[] SnapshotBySubstream()
    {
        lock (_lock)
        {
            return [.. _entries.Select(e => (e.Key.Ssid, e.Value))];
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            Volatile.Write(ref _generation, _generation + 1);
            _entries.Clear();
        }
    }
}
