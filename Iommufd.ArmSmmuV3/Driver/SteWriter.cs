using System.Numerics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>Where an STE update goes: one 64-bit store at a time, and a sync (CFGI_STE + CMD_SYNC) between steps.</summary>
internal interface ISteSink
{
    void WriteQword(int index, ulong value);

    void Sync();
}

/// <summary>
/// Updates a live STE so that the SMMU, which may fetch it at any moment one 64-bit word at a time, only ever sees
/// the old configuration, the new one, or (when no other order exists) V = 0; the sequence of arm-smmu-v3.c
/// arm_smmu_write_entry() with the used bits of arm_smmu_get_ste_used() (<see cref="StreamTableEntry.UsedBits"/>).
/// Only the first four words of an STE are used here; the other four stay zero.
/// </summary>
internal static class SteWriter
{
    public const int Qwords = 4;

    /// <summary>
    /// Moves <paramref name="entry"/> (the STE as it is in memory) to <paramref name="target"/> through
    /// <paramref name="sink"/>: if the used bits differ in one word only, the unused bits first, then that word,
    /// then the rest, hitless; if they differ in more, V = 0 first, the other words, then word 0; otherwise in one
    /// step. Each step that changed something ends with a sync. Returns the number of syncs.
    /// </summary>
    public static int Write<TSink>(Span<ulong> entry, ReadOnlySpan<ulong> target, ref TSink sink)
        where TSink : struct, ISteSink
    {
        Span<ulong> curUsed = stackalloc ulong[Qwords];
        Span<ulong> targetUsed = stackalloc ulong[Qwords];
        Span<ulong> unusedUpdate = stackalloc ulong[Qwords];
        StreamTableEntry.UsedBits(entry, curUsed);
        StreamTableEntry.UsedBits(target, targetUsed);
        int diff = 0;
        for (int i = 0; i < Qwords; i++)
        {
            // Bits not used now may take their new value at once; a word whose used bits still differ after that
            // is one the SMMU would see change.
            unusedUpdate[i] = (entry[i] & curUsed[i]) | (target[i] & ~curUsed[i]);
            if ((unusedUpdate[i] & targetUsed[i]) != target[i])
            {
                diff |= 1 << i;
            }
        }

        int syncs = 0;
        if (BitOperations.PopCount((uint)diff) == 1)
        {
            int critical = BitOperations.TrailingZeroCount(diff);
            unusedUpdate[critical] = entry[critical];
            syncs += Set(entry, unusedUpdate, 0, Qwords, ref sink);
            syncs += Set(entry, target, critical, 1, ref sink);
            syncs += Set(entry, target, 0, Qwords, ref sink);
        }
        else if (diff != 0)
        {
            unusedUpdate[0] = 0; // V = 0: a breaking update
            syncs += Set(entry, unusedUpdate, 0, 1, ref sink);
            syncs += Set(entry, target, 1, Qwords - 1, ref sink);
            syncs += Set(entry, target, 0, 1, ref sink);
        }
        else
        {
            syncs += Set(entry, target, 0, Qwords, ref sink);
        }

        return syncs;
    }

    private static int Set<TSink>(Span<ulong> entry, ReadOnlySpan<ulong> values, int start, int count, ref TSink sink)
        where TSink : struct, ISteSink
    {
        bool changed = false;
        for (int i = start; i < start + count; i++)
        {
            if (entry[i] != values[i])
            {
                entry[i] = values[i];
                sink.WriteQword(i, values[i]);
                changed = true;
            }
        }

        if (!changed)
        {
            return 0;
        }

        sink.Sync();
        return 1;
    }
}
