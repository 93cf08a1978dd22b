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
/// arm_smmu_write_entry() with the used bits of arm_smmu_get_ste_used(). Only the first four words of an STE are
/// used here; the other four stay zero.
/// </summary>
internal static class SteWriter
{
    public const int Qwords = 4;

    /// <summary>
    /// The bits of <paramref name="ste"/> the SMMU uses for its configuration (arm_smmu_get_ste_used()): V; with
    /// V, Config; with stage 1, the CD pointer fields, the S1 word-1 fields, EATS, MEV and S2VMID (and SHCFG when
    /// S1DSS bypasses); with stage 2, its word-2 and S2TTB fields, EATS, SHCFG, MEV and S2FWB; SHCFG for bypass.
    /// </summary>
    public static void UsedBits(ReadOnlySpan<ulong> ste, Span<ulong> used)
    {
        used[..Qwords].Clear();
        used[0] = 1;
        if ((ste[0] & 1) == 0)
        {
            return;
        }

        const ulong Shcfg = 3UL << 44, Eats = 3UL << 28, Mev = 1UL << 19;
        used[0] |= 0xE;
        ulong config = (ste[0] >> 1) & 7;
        if ((config & 1) != 0)
        {
            used[0] |= 0x30 | 0x000F_FFFF_FFFF_FFC0 | (0x1FUL << 59); // S1Fmt, S1ContextPtr, S1CDMax
            used[1] |= 0xFF | (1UL << 27) | Eats | (3UL << 30) | Mev; // S1DSS, S1CIR/COR/CSH, S1STALLD, EATS, STRW, MEV
            used[2] |= 0xFFFF; // S2VMID
            if ((ste[1] & 3) == 1)
            {
                used[1] |= Shcfg; // S1DSS = bypass
            }
        }

        if ((config & 2) != 0)
        {
            used[1] |= (1UL << 25) | Eats | Shcfg | Mev; // S2FWB, EATS, SHCFG, MEV
            used[2] |= 0xFFFF | (0x7FFFFUL << 32) | (1UL << 51) | (1UL << 52) | (1UL << 54) | (1UL << 57) | (1UL << 58);
            used[3] |= 0x000F_FFFF_FFFF_FFF0; // S2TTB
        }

        if (config == StreamTableEntry.ConfigBypass)
        {
            used[1] |= Shcfg;
        }
    }

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
        UsedBits(entry, curUsed);
        UsedBits(target, targetUsed);
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
