namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Cached STEs and CDs (spec §4.3.1): a configuration the SMMU fetched stays in use until a CFGI command removes
/// it, even if software rewrote the table in memory.
/// </summary>
internal sealed class ConfigCache
{
    private readonly Lock _lock = new(); // guards _stes, _cds and the writes of _generation
    private readonly Dictionary<uint, StreamTableEntry> _stes = [];
    private readonly Dictionary<(uint Sid, uint Ssid), ContextDescriptor> _cds = [];
    private long _generation; // bumped by every invalidation (read without the lock, written under it)

    /// <summary>Changes with every invalidation (see <see cref="Iotlb.Generation"/>): a fetch that raced a CFGI is not cached.</summary>
    public long Generation => Volatile.Read(ref _generation);

    public int SteCount
    {
        get
        {
            lock (_lock)
            {
                return _stes.Count;
            }
        }
    }

    public int CdCount
    {
        get
        {
            lock (_lock)
            {
                return _cds.Count;
            }
        }
    }

    public bool TryGetSte(uint sid, out StreamTableEntry ste)
    {
        lock (_lock)
        {
            return _stes.TryGetValue(sid, out ste);
        }
    }

    public void PutSte(uint sid, in StreamTableEntry ste, long? generation = null)
    {
        lock (_lock)
        {
            if (generation is null || generation == _generation)
            {
                _stes[sid] = ste;
            }
        }
    }

    public bool TryGetCd(uint sid, uint ssid, out ContextDescriptor cd)
    {
        lock (_lock)
        {
            return _cds.TryGetValue((sid, ssid), out cd);
        }
    }

    public void PutCd(uint sid, uint ssid, in ContextDescriptor cd, long? generation = null)
    {
        lock (_lock)
        {
            if (generation is null || generation == _generation)
            {
                _cds[(sid, ssid)] = cd;
            }
        }
    }

    /// <summary>CFGI_STE / CFGI_STE_RANGE: the STEs of [first, last] and the CDs fetched through them.</summary>
    public void InvalidateStes(uint first, uint last)
    {
        lock (_lock)
        {
            Volatile.Write(ref _generation, _generation + 1);
            foreach (var sid in _stes.Keys)
            {
                if (sid >= first && sid <= last)
                {
                    _stes.Remove(sid);
                }
            }

            foreach (var key in _cds.Keys)
            {
                if (key.Sid >= first && key.Sid <= last)
                {
                    _cds.Remove(key);
                }
            }
        }
    }

    /// <summary>CFGI_CD (one substream) or CFGI_CD_ALL (<paramref name="ssid"/> null).</summary>
    public void InvalidateCds(uint sid, uint? ssid)
    {
        lock (_lock)
        {
            Volatile.Write(ref _generation, _generation + 1);
            foreach (var key in _cds.Keys)
            {
                if (key.Sid == sid && (ssid is null || key.Ssid == ssid))
                {
                    _cds.Remove(key);
                }
            }
        }
    }

    /// <summary>Every cached STE by StreamID, for diagnostics.</summary>
    public KeyValuePair<uint, StreamTableEntry>[] SnapshotStes()
    {
        lock (_lock)
        {
            return [.. _stes];
        }
    }

    /// <summary>Every cached CD by StreamID and SubstreamID, for diagnostics.</summary>
    public KeyValuePair<(uint Sid, uint Ssid), ContextDescriptor>[] SnapshotCds()
    {
        lock (_lock)
        {
            return [.. _cds];
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            Volatile.Write(ref _generation, _generation + 1);
            _stes.Clear();
            _cds.Clear();
        }
    }
}
