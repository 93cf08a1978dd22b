using System.Numerics;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The range fields of a TLBI by address (spec §4.4.1.1), shared by the SMMU model and the host driver's guest
/// command checks so that both agree on what is legal.
/// </summary>
public static class RangeInvalidation
{
    /// <summary>NUM is five bits: one range TLBI covers at most 32 units of 2^SCALE pages.</summary>
    private const int MaxUnits = 32;

    /// <summary>SCALE is five bits without IDR5.DS.</summary>
    private const int MaxScale = 31;

    /// <summary>
    /// The first range TLBI for <paramref name="pages"/> pages (spec §4.4.1.1; as arm-smmu-v3.c
    /// __arm_smmu_tlb_inv_range() splits a range): SCALE is the number of trailing zero bits of the page count
    /// (capped at 31) and NUM + 1 the five bits above it, so each command takes away the lowest set bits and the
    /// count falls to zero in at most ⌈64 / 5⌉ steps. Returns the pages that command covers.
    /// </summary>
    public static (byte Num, byte Scale, ulong Pages) NextRange(ulong pages)
    {
        ArgumentOutOfRangeException.ThrowIfZero(pages);
        int scale = BitOperations.TrailingZeroCount(pages);
        ulong units;
        if (scale > MaxScale)
        {
            scale = MaxScale;
            units = Math.Min(pages >> MaxScale, MaxUnits);
        }
        else
        {
            units = (pages >> scale) & (MaxUnits - 1); // odd, so never 0
        }

        return ((byte)(units - 1), (byte)scale, units << scale);
    }

    /// <summary>NUM and SCALE, the range fields of word 0 of a TLBI by address.</summary>
    internal const ulong Word0Fields = SmmuCommandLayout.W0_NUM | SmmuCommandLayout.W0_SCALE;

    /// <summary>TG and TTL, the range fields of word 1 of a TLBI by address.</summary>
    internal const ulong Word1Fields = SmmuCommandLayout.W1_TG | SmmuCommandLayout.W1_TTL;

    /// <summary>
    /// Whether a TLBI by address with these words has TG = TTL = NUM = SCALE = 0, the encoding without a range or a
    /// TTL hint: <see cref="IsLegal"/> accepts it whatever IDR3.RIL and IDR5.DS say, so one mask test decides it.
    /// </summary>
    internal static bool IsPlain(ulong word0, ulong word1) => ((word0 & Word0Fields) | (word1 & Word1Fields)) == 0;

    /// <summary>
    /// Without IDR3.RIL, TG, TTL, NUM and SCALE are RES0; with TG = 0, TTL, NUM and SCALE are RES0; SCALE[5] exists
    /// only with IDR5.DS; and NUM = SCALE = 0 with an effective TTL of 0 is the Reserved combination. TTL = 1 with
    /// the 16K granule counts as 0 without DS, so that encoding with NUM = SCALE = 0 is Reserved too.
    /// </summary>
    public static bool IsLegal(in SmmuCommand command, bool rangeInvalidation, bool ds)
    {
        ulong w1 = command.Word1;
        ulong numScale = command.Word0 & (SmmuCommandLayout.W0_NUM | SmmuCommandLayout.W0_SCALE);
        ulong tg = w1 & SmmuCommandLayout.W1_TG;
        ulong ttl = w1 & SmmuCommandLayout.W1_TTL;
        if (tg == 0 || !rangeInvalidation)
        {
            return (tg | ttl | numScale) == 0;
        }

        if (!ds && (numScale & SmmuCommandLayout.W0_SCALE_DS) != 0)
        {
            return false;
        }

        // The effective TTL is nonzero unless TTL = 0, or TTL = 1 with the 16K granule and no DS (EffectiveTtl).
        const ulong Ttl1With16K = (1UL << 8) | ((ulong)SmmuCommand.TG_16K << 10);
        return numScale != 0 || (ttl != 0 && (ds || (ttl | tg) != Ttl1With16K));
    }

    /// <summary>TTL as the SMMU uses it: 16K with TTL = 1 needs DS, otherwise it is treated as 0.</summary>
    public static int EffectiveTtl(in SmmuCommand command, bool ds) =>
        command.Tg == SmmuCommand.TG_16K && command.Ttl == 1 && !ds ? 0 : command.Ttl;
}
