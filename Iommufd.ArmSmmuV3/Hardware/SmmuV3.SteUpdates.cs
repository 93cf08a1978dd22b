using System.Numerics;

namespace Iommufd.ArmSmmuV3.Hardware;

// A help for driver authors, off the translation path: each CFGI_STE compares the STE in memory with the one seen
// at the previous CFGI_STE of that StreamID. The SMMU may fetch the STE at any moment between the two, one 64-bit
// word at a time (spec §3.21.3: single-copy atomicity of at least 64 bits), so when the bits it uses
// (arm-smmu-v3.c arm_smmu_get_ste_used()) changed in two or more words, a fetch could have mixed old and new words:
// an update that was not hitless. arm_smmu_write_entry() never does that: it changes one such word per sync, or
// first clears V (after which only V is used).
internal sealed partial class SmmuV3
{
    private readonly Lock _steUpdateLock = new(); // guards _steAtLastCfgi
    private readonly Dictionary<uint, StreamTableEntry> _steAtLastCfgi = [];
    private long _tornSteUpdates;

    /// <summary>
    /// Raised when a CFGI_STE finds that the STE of a StreamID changed, since the previous CFGI_STE of it while the
    /// SMMU was enabled, in the used bits of two or more 64-bit words without V = 0 between: a fetch in between could
    /// have seen a configuration that is neither the old nor the new one. The arguments are the StreamID and a mask
    /// of the words (bit i: word i) whose used bits changed. Handlers run on the thread consuming the command queue.
    /// </summary>
    public event Action<uint, int>? TornSteUpdate;

    /// <summary>
    /// STE updates a real SMMU could have observed half done (see <see cref="TornSteUpdate"/>): zero for a driver that
    /// updates live STEs in the order of arm-smmu-v3.c arm_smmu_write_entry(). Only CFGI_STE is checked; a
    /// CFGI_STE_RANGE (or CFGI_ALL) forgets the StreamIDs it covers, so the next CFGI_STE of each starts afresh.
    /// </summary>
    public long TornSteUpdates => Interlocked.Read(ref _tornSteUpdates);

    /// <summary>Compares the STE of <paramref name="sid"/> with the one at its previous CFGI_STE, then remembers it.</summary>
    private void CheckSteUpdate(uint sid)
    {
        StreamTableEntry now = default;
        bool found = LocateSte(sid, out ulong address) == SteLocation.Found && TryReadSte(address, out now);
        StreamTableEntry before;
        bool had;
        lock (_steUpdateLock)
        {
            if (!found)
            {
                _steAtLastCfgi.Remove(sid);
                return;
            }

            had = _steAtLastCfgi.TryGetValue(sid, out before);
            _steAtLastCfgi[sid] = now;
        }

        // With SMMUEN = 0 nothing fetches STEs (spec §6.3.9), so no update is seen half done.
        if (!had || (Cr0 & Cr0SmmuEn) == 0)
        {
            return;
        }

        int words = ChangedUsedWords(before, now);
        if (BitOperations.PopCount((uint)words) > 1)
        {
            Interlocked.Increment(ref _tornSteUpdates);
            TornSteUpdate?.Invoke(sid, words);
        }
    }

    /// <summary>Forgets the STEs of StreamIDs <paramref name="first"/> to <paramref name="last"/> (CFGI_STE_RANGE).</summary>
    private void ForgetSteUpdates(uint first, uint last)
    {
        lock (_steUpdateLock)
        {
            foreach (uint sid in _steAtLastCfgi.Keys)
            {
                if (sid >= first && sid <= last)
                {
                    _steAtLastCfgi.Remove(sid);
                }
            }
        }
    }

    /// <summary>The words (bit i: word i) in which a bit used by <paramref name="before"/> or <paramref name="after"/> differs.</summary>
    private static int ChangedUsedWords(in StreamTableEntry before, in StreamTableEntry after)
    {
        ReadOnlySpan<ulong> old = [before.Word0, before.Word1, before.Word2, before.Word3];
        ReadOnlySpan<ulong> now = [after.Word0, after.Word1, after.Word2, after.Word3];
        Span<ulong> usedOld = stackalloc ulong[StreamTableEntry.UsedWords];
        Span<ulong> usedNow = stackalloc ulong[StreamTableEntry.UsedWords];
        StreamTableEntry.UsedBits(old, usedOld);
        StreamTableEntry.UsedBits(now, usedNow);
        int words = 0;
        for (int i = 0; i < StreamTableEntry.UsedWords; i++)
        {
            if (((old[i] ^ now[i]) & (usedOld[i] | usedNow[i])) != 0)
            {
                words |= 1 << i;
            }
        }

        return words;
    }
}
