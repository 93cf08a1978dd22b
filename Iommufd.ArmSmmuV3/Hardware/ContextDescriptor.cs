namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>A 64-byte context descriptor (spec §5.4) over its first four words; positions as arm-smmu-v3.h
/// CTXDESC_CD_*.</summary>
public readonly record struct ContextDescriptor(ulong Word0, ulong Word1, ulong Word2, ulong Word3)
{
    /// <summary>Size in bytes of a CD (§5.4; arm-smmu-v3.h CTXDESC_CD_DWORDS words of 8 bytes).</summary>
    public const int Size = 64;

    /// <summary>CD.T0SZ [5:0] (§5.4; CTXDESC_CD_0_TCR_T0SZ): the TTB0 region covers 2^(64 − T0SZ) bytes of input address.</summary>
    public int T0sz => (int)(Word0 & 0x3F);

    /// <summary>TG0 [7:6]: 0 = 4K, 1 = 64K, 2 = 16K.</summary>
    public int Tg0 => (int)((Word0 >> 6) & 0x3);

    /// <summary>CD.EPD0 [14] (§5.4; CTXDESC_CD_0_TCR_EPD0): no walks through TTB0; a miss in its region is a translation fault.</summary>
    public bool Epd0 => (Word0 & (1UL << 14)) != 0;

    /// <summary>CD.ENDI [15] (§5.4; CTXDESC_CD_0_ENDI): the stage-1 tables are big-endian.</summary>
    public bool Endi => (Word0 & (1UL << 15)) != 0;

    /// <summary>T1SZ [21:16].</summary>
    public int T1sz => (int)((Word0 >> 16) & 0x3F);

    /// <summary>TG1 [23:22]: 0 reserved, 1 = 16K, 2 = 4K, 3 = 64K.</summary>
    public int Tg1 => (int)((Word0 >> 22) & 0x3);

    /// <summary>EPD1 [30]: no walks through TTB1.</summary>
    public bool Epd1 => (Word0 & (1UL << 30)) != 0;

    /// <summary>CD.V [31] (§5.4; CTXDESC_CD_0_V): the CD is valid; an invalid one makes the substream's transactions raise C_BAD_CD.</summary>
    public bool Valid => (Word0 & (1UL << 31)) != 0;

    /// <summary>IPS [34:32].</summary>
    public int Ips => (int)((Word0 >> 32) & 0x7);

    /// <summary>CD.AA64 [41] (§5.4; CTXDESC_CD_0_AA64): the tables use the VMSAv8-64 (AArch64) format.</summary>
    public bool Aa64 => (Word0 & (1UL << 41)) != 0;

    /// <summary>CD.HA [43] (§5.4; CTXDESC_CD_0_TCR_HA): the SMMU updates the access flag of stage-1 descriptors itself.</summary>
    public bool Ha => (Word0 & (1UL << 43)) != 0;

    /// <summary>CD.HD [42] (§5.4; CTXDESC_CD_0_TCR_HD): the SMMU updates the dirty state of stage-1 descriptors itself.</summary>
    public bool Hd => (Word0 & (1UL << 42)) != 0;

    /// <summary>S [44]: stall faulting transactions.</summary>
    public bool Stall => (Word0 & (1UL << 44)) != 0;

    /// <summary>R [45]: record faults.</summary>
    public bool Record => (Word0 & (1UL << 45)) != 0;

    /// <summary>A [46]: abort faulting transactions.</summary>
    public bool Abort => (Word0 & (1UL << 46)) != 0;

    /// <summary>CD.ASID [63:48] (§5.4; CTXDESC_CD_0_ASID): the ASID that tags this context's TLB entries.</summary>
    public ushort Asid => (ushort)(Word0 >> 48);

    /// <summary>The whole TTB0 field [119:68] (address bits [55:4]; [55:52] are RES0 on SMMUv3.1).</summary>
    public ulong Ttb0Field => Word1 & 0x00FF_FFFF_FFFF_FFF0;

    /// <summary>The whole TTB1 field [183:132].</summary>
    public ulong Ttb1Field => Word2 & 0x00FF_FFFF_FFFF_FFF0;

    /// <summary>TTB0 [51:4] of word 1.</summary>
    public ulong Ttb0 => Word1 & 0x000F_FFFF_FFFF_FFF0;

    /// <summary>The TTB0 granule that CD.TG0 encodes (§5.4): 0 = 4KB, 1 = 64KB, 2 = 16KB.</summary>
    public TranslationGranule Granule => Tg0 switch { 1 => TranslationGranule.Size64K, 2 => TranslationGranule.Size16K, _ => TranslationGranule.Size4K };

    /// <summary>The TTB0 table format: the TG0 granule, 64 − T0SZ input bits, and the start level they imply.</summary>
    public TableFormat Format => TableFormat.ForInputBits(Granule, 64 - T0sz);

    /// <summary>Reads a CD's first four words, little-endian, from <paramref name="bytes"/> (at least 32 bytes).</summary>
    public static ContextDescriptor Read(ReadOnlySpan<byte> bytes)
    {
        var (w0, w1, w2, w3) = LittleEndianWords.Read4(bytes);
        return new(w0, w1, w2, w3);
    }

    /// <summary>Writes the four words; the upper four words of the 64-byte CD are zeroed.</summary>
    public void Write(Span<byte> bytes)
    {
        LittleEndianWords.Write4(bytes, Word0, Word1, Word2, Word3);
        bytes[32..Size].Clear();
    }
}
