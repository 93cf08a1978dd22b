namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>A 64-byte context descriptor (spec §5.4) over its first four words; positions as arm-smmu-v3.h
/// CTXDESC_CD_*.</summary>
public readonly record struct ContextDescriptor(ulong Word0, ulong Word1, ulong Word2, ulong Word3)
{
    public const int Size = 64;

    public int T0sz => (int)(Word0 & 0x3F);

    /// <summary>TG0 [7:6]: 0 = 4K, 1 = 64K, 2 = 16K.</summary>
    public int Tg0 => (int)((Word0 >> 6) & 0x3);

    public bool Epd0 => (Word0 & (1UL << 14)) != 0;

    public bool Endi => (Word0 & (1UL << 15)) != 0;

    public bool Valid => (Word0 & (1UL << 31)) != 0;

    /// <summary>IPS [34:32].</summary>
    public int Ips => (int)((Word0 >> 32) & 0x7);

    public bool Aa64 => (Word0 & (1UL << 41)) != 0;

    public bool Ha => (Word0 & (1UL << 43)) != 0;

    public bool Hd => (Word0 & (1UL << 42)) != 0;

    /// <summary>S [44]: stall faulting transactions.</summary>
    public bool Stall => (Word0 & (1UL << 44)) != 0;

    /// <summary>R [45]: record faults.</summary>
    public bool Record => (Word0 & (1UL << 45)) != 0;

    /// <summary>A [46]: abort faulting transactions.</summary>
    public bool Abort => (Word0 & (1UL << 46)) != 0;

    public ushort Asid => (ushort)(Word0 >> 48);

    /// <summary>TTB0 [51:4] of word 1.</summary>
    public ulong Ttb0 => Word1 & 0x000F_FFFF_FFFF_FFF0;

    public TranslationGranule Granule => Tg0 switch { 1 => TranslationGranule.Size64K, 2 => TranslationGranule.Size16K, _ => TranslationGranule.Size4K };

    public TableFormat Format => TableFormat.ForInputBits(Granule, 64 - T0sz);

    /// <summary>
    /// True when the model can use the CD: V, AA64 and A set, S, HA and HD clear, little-endian, T0SZ in 16..39 and
    /// a defined granule (otherwise C_BAD_CD, Arm IHI 0070 §5.4).
    /// </summary>
    public bool IsUsable => Valid && Aa64 && Abort && !Stall && !Ha && !Hd && !Endi && T0sz is >= 16 and <= 39 && Tg0 != 3;

    public static ContextDescriptor Read(ReadOnlySpan<byte> bytes)
    {
        var (w0, w1, w2, w3) = LittleEndianWords.Read4(bytes);
        return new(w0, w1, w2, w3);
    }

    public void Write(Span<byte> bytes)
    {
        LittleEndianWords.Write4(bytes, Word0, Word1, Word2, Word3);
        bytes[32..Size].Clear();
    }
}
