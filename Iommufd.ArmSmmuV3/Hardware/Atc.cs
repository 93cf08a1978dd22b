namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The address translation cache of one ATS-capable endpoint (PCIe ATS): translations the device fetched from
/// the SMMU and uses without asking again, until an ATC_INV removes them. Keyed by substream and input block.
/// </summary>
public sealed class Atc
{
    private readonly Lock _lock = new(); // guards _entries
    private readonly Dictionary<(uint Ssid, ulong Block, int Shift), TlbEntry> _entries = [];
    private ulong _shifts;

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

    public void Insert(uint ssid, in TlbEntry entry)
    {
        lock (_lock)
        {
            _entries[(ssid, entry.InputBase >> entry.Shift, entry.Shift)] = entry;
            _shifts |= 1UL << entry.Shift;
        }
    }

    /// <summary>
    /// ATC_INV: removes entries overlapping [<paramref name="start"/>, <paramref name="last"/>]; with
    /// <paramref name="ssid"/> null, for every substream (Global, or SSV = 0 for the non-substream context).
    /// </summary>
    public int Invalidate(uint? ssid, ulong start, ulong last)
    {
        int removed = 0;
        lock (_lock)
        {
            foreach (var (key, entry) in _entries)
            {
                if ((ssid is null || key.Ssid == ssid) && entry.Overlaps(start, last))
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

    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
        }
    }
}
