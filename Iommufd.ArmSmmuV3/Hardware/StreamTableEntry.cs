namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// A 64-byte stream table entry (spec §5.2) over its first four 64-bit words, with a property per field the
/// model uses. Field positions follow arm-smmu-v3.h STRTAB_STE_*.
/// </summary>
public readonly record struct StreamTableEntry(ulong Word0, ulong Word1, ulong Word2, ulong Word3)
{
    /// <summary>Size in bytes of an STE.</summary>
    public const int Size = 64;

    /// <summary>STE.Config 0b000 (§5.2; arm-smmu-v3.h STRTAB_STE_0_CFG_ABORT): every transaction of the stream aborts.</summary>
    public const ulong ConfigAbort = 0b000;
    /// <summary>STE.Config 0b100 (§5.2; STRTAB_STE_0_CFG_BYPASS): both stages bypass; transactions pass untranslated.</summary>
    public const ulong ConfigBypass = 0b100;
    /// <summary>STE.Config 0b101 (§5.2; STRTAB_STE_0_CFG_S1_TRANS): stage 1 translates through the CD table, stage 2 bypasses.</summary>
    public const ulong ConfigS1Translate = 0b101;
    /// <summary>STE.Config 0b110 (§5.2; STRTAB_STE_0_CFG_S2_TRANS): stage 1 bypasses, stage 2 translates through S2TTB.</summary>
    public const ulong ConfigS2Translate = 0b110;
    /// <summary>STE.Config 0b111 (§5.2): stage 1 then stage 2, the configuration of a nested (guest-owned stage 1) domain.</summary>
    public const ulong ConfigNested = 0b111;

    /// <summary>
    /// Word-0 fields a guest STE may set for nesting (arm-smmu-v3.h STRTAB_STE_0_NESTING_ALLOWED): V, Config, S1Fmt,
    /// S1ContextPtr[51:6], S1CDMax.
    /// </summary>
    public const ulong NestingAllowedWord0 = 0x1 | 0xE | 0x30 | 0x000F_FFFF_FFFF_FFC0 | (0x1FUL << 59);

    /// <summary>Word-1 fields a guest STE may set for nesting: S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS.</summary>
    public const ulong NestingAllowedWord1 = 0xFF | (1UL << 27) | EatsMask;

    /// <summary>EATS [93:92] in word 1.</summary>
    public const ulong EatsMask = 3UL << 28;

    /// <summary>STE.V [0] (§5.2; STRTAB_STE_0_V): the STE is valid; an invalid one makes the stream's transactions raise C_BAD_STE.</summary>
    public bool Valid => (Word0 & 1) != 0;

    /// <summary>Config [3:1].</summary>
    public ulong Config => (Word0 >> 1) & 0x7;

    /// <summary>True when STE.Config enables stage 1 (S1 translate or nested, §5.2), so the SMMU fetches the CD.</summary>
    public bool Stage1Enabled => Config is ConfigS1Translate or ConfigNested;

    /// <summary>True when STE.Config enables stage 2 (S2 translate or nested, §5.2), so S2TTB and the S2 fields apply.</summary>
    public bool Stage2Enabled => Config is ConfigS2Translate or ConfigNested;

    /// <summary>S1Fmt [5:4].</summary>
    public ulong S1Fmt => (Word0 >> 4) & 0x3;

    /// <summary>S1ContextPtr [51:6] (the host masks at bit 51).</summary>
    public ulong S1ContextPtr => Word0 & 0x000F_FFFF_FFFF_FFC0;

    /// <summary>S1CDMax [63:59]: log2 of the number of CDs.</summary>
    public int S1CdMax => (int)(Word0 >> 59);

    /// <summary>S1DSS [65:64].</summary>
    public ulong S1Dss => Word1 & 0x3;

    /// <summary>MEV [83]: merge events.</summary>
    public bool Mev => (Word1 & (1UL << 19)) != 0;

    /// <summary>S1STALLD [91].</summary>
    public bool S1StallD => (Word1 & (1UL << 27)) != 0;

    /// <summary>EATS [93:92].</summary>
    public ulong Eats => (Word1 >> 28) & 0x3;

    /// <summary>STRW [95:94].</summary>
    public ulong Strw => (Word1 >> 30) & 0x3;

    /// <summary>S2VMID [143:128].</summary>
    public ushort S2Vmid => (ushort)Word2;

    /// <summary>S2T0SZ [165:160].</summary>
    public int S2T0sz => (int)((Word2 >> 32) & 0x3F);

    /// <summary>S2SL0 [167:166].</summary>
    public int S2Sl0 => (int)((Word2 >> 38) & 0x3);

    /// <summary>S2TG [175:174]: 0 = 4K, 1 = 64K, 2 = 16K.</summary>
    public int S2Tg => (int)((Word2 >> 46) & 0x3);

    /// <summary>S2PS [178:176].</summary>
    public int S2Ps => (int)((Word2 >> 48) & 0x7);

    /// <summary>S2AA64 [179].</summary>
    public bool S2Aa64 => (Word2 & (1UL << 51)) != 0;

    /// <summary>S2ENDI [180]: big-endian stage-2 tables.</summary>
    public bool S2Endi => (Word2 & (1UL << 52)) != 0;

    /// <summary>S2HD [183]: hardware update of stage-2 dirty state.</summary>
    public bool S2Hd => (Word2 & (1UL << 55)) != 0;

    /// <summary>S2HA [184]: hardware update of stage-2 access flags.</summary>
    public bool S2Ha => (Word2 & (1UL << 56)) != 0;

    /// <summary>S2S [185]: stall stage-2 faults.</summary>
    public bool S2S => (Word2 & (1UL << 57)) != 0;

    /// <summary>S2R [186]: record stage-2 faults.</summary>
    public bool S2R => (Word2 & (1UL << 58)) != 0;

    /// <summary>S2TTB [51:4] of word 3.</summary>
    public ulong S2Ttb => Word3 & 0x000F_FFFF_FFFF_FFF0;

    /// <summary>The whole S2TTB field [247:196] (address bits [55:4]; [55:52] are RES0 on SMMUv3.1).</summary>
    public ulong S2TtbField => Word3 & 0x00FF_FFFF_FFFF_FFF0;

    /// <summary>The whole S1ContextPtr field [55:6].</summary>
    public ulong S1ContextPtrField => Word0 & 0x00FF_FFFF_FFFF_FFC0;

    /// <summary>
    /// The stage-2 walk's start level from S2SL0 and S2TG (the VTCR_EL2.SL0 encoding, Arm IHI 0070 §5.2 S2SL0), or
    /// -1 for an encoding that is reserved without FEAT_TTST/FEAT_LPA2 (4K SL0 = 3; 16K or 64K SL0 = 3).
    /// </summary>
    public int Stage2StartLevel => (S2Tg, S2Sl0) switch
    {
        (_, 3) => -1,
        (1 or 2, var sl0) => 3 - sl0,
        (_, var sl0) => 2 - sl0,
    };

    /// <summary>The words <see cref="UsedBits"/> covers: the four this model reads.</summary>
    internal const int UsedWords = 4;

    /// <summary>
    /// The bits of <paramref name="ste"/> (its first <see cref="UsedWords"/> words) the SMMU uses for its
    /// configuration, as arm-smmu-v3.c arm_smmu_get_ste_used() has them: V; with V, Config; with stage 1, the CD
    /// pointer fields, the S1 word-1 fields, EATS, MEV and S2VMID (and SHCFG when S1DSS bypasses); with stage 2, its
    /// word-2 and S2TTB fields, EATS, SHCFG, MEV and S2FWB; SHCFG for bypass. The host driver orders its STE updates
    /// by them, and the model's CFGI_STE check (<see cref="SmmuV3.TornSteUpdates"/>) judges updates by them.
    /// </summary>
    internal static void UsedBits(ReadOnlySpan<ulong> ste, Span<ulong> used)
    {
        used[..UsedWords].Clear();
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

        if (config == ConfigBypass)
        {
            used[1] |= Shcfg;
        }
    }

    /// <summary>Reads an STE's first four words, little-endian, from <paramref name="bytes"/> (at least 32 bytes).</summary>
    public static StreamTableEntry Read(ReadOnlySpan<byte> bytes)
    {
        var (w0, w1, w2, w3) = LittleEndianWords.Read4(bytes);
        return new(w0, w1, w2, w3);
    }

    /// <summary>Writes the four words; the upper four words of the 64-byte entry are zeroed.</summary>
    public void Write(Span<byte> bytes)
    {
        LittleEndianWords.Write4(bytes, Word0, Word1, Word2, Word3);
        bytes[32..Size].Clear();
    }

    /// <summary>The stage-2 table format: granule from S2TG, input size from S2T0SZ, start level from S2SL0.</summary>
    public TableFormat Stage2Format
    {
        get
        {
            var granule = S2Tg switch { 1 => TranslationGranule.Size64K, 2 => TranslationGranule.Size16K, _ => TranslationGranule.Size4K };
            return new TableFormat(granule, 64 - S2T0sz, Stage2StartLevel);
        }
    }
}
