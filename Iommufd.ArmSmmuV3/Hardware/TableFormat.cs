namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// How a VMSAv8-64 translation table is set up: granule, input size (from TxSZ) and the level the walk starts
/// at. The same shape serves stage 1 (TTB0, T0SZ, TG0 of a CD) and stage 2 (S2TTB, S2T0SZ, S2SL0, S2TG).
/// </summary>
public readonly record struct TableFormat(TranslationGranule Granule, int InputBits, int StartLevel)
{
    /// <summary>Bits resolved per level: the granule's shift minus 3 (8-byte descriptors).</summary>
    public int BitsPerLevel => PageShift - 3;

    /// <summary>log2 of the granule's page size: 12, 14 or 16.</summary>
    public int PageShift => (int)Granule;

    /// <summary>A stage-1 format whose start level follows from the input size (no concatenation).</summary>
    public static TableFormat ForInputBits(TranslationGranule granule, int inputBits)
    {
        int g = (int)granule;
        int levels = (inputBits - g + (g - 3) - 1) / (g - 3);
        return new TableFormat(granule, inputBits, 4 - levels);
    }

    /// <summary>log2 of the size one descriptor at <paramref name="level"/> maps.</summary>
    public int BlockShift(int level) => PageShift + ((3 - level) * BitsPerLevel);

    /// <summary>The table index <paramref name="input"/> selects at <paramref name="level"/>.</summary>
    public ulong Index(ulong input, int level)
    {
        int shift = BlockShift(level);
        int top = level == StartLevel ? InputBits : shift + BitsPerLevel;
        return (input >> shift) & ((1UL << (top - shift)) - 1);
    }

    /// <summary>True when a block descriptor is allowed at <paramref name="level"/> (level 3 holds pages).</summary>
    public bool BlocksAllowed(int level) => Granule switch
    {
        TranslationGranule.Size4K => level is 1 or 2,
        _ => level == 2,
    };
}
