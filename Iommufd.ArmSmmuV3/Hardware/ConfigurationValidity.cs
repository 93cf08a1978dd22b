namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Whether an STE or a CD is ILLEGAL for this SMMU: the checks of Arm IHI 0070 §5.2.2 (SteIllegal) and §5.4.2
/// (CdIllegal) that apply to a Non-secure stream on an implementation with AArch64 tables only (IDR0.TTF = 0b10),
/// little-endian walks (TTENDIAN = 0b10), no HTTU, no small translation tables (IDR3.STT = 0), 48-bit VAs
/// (IDR5.VAX = 0), no VMSAv9-128 and IAS = OAS. An ILLEGAL STE gives C_BAD_STE, an ILLEGAL CD C_BAD_CD.
/// </summary>
/// <remarks>
/// Where SMMUv3.0 leaves a check CONSTRAINED UNPREDICTABLE (TxSZ out of range, EATS = 0b01 with S2S), the model
/// takes the SMMUv3.1 rule: the structure is ILLEGAL. Not checked: fields of features the model does not have
/// (MPAM VMSPtr, permission indirection and overlays, DPT, Secure and Realm state), whose fields are RES0 here.
/// </remarks>
internal static class ConfigurationValidity
{
    /// <summary>IDR3.STT = 0: the largest TxSZ (§5.2 S2T0SZ, §5.4 T0SZ).</summary>
    private const int MaxTxSz = 39;

    /// <summary>§5.2.2 SteIllegal for a Non-secure STE.</summary>
    public static bool SteIllegal(in StreamTableEntry ste, SmmuV3Features features)
    {
        if (!ste.Valid)
        {
            return true;
        }

        ulong config = ste.Config;
        if (config < StreamTableEntry.ConfigBypass)
        {
            return false; // Config 0b0xx: the stream aborts without an event, whatever the other fields say
        }

        if ((ste.Stage1Enabled && !features.Stage1) || (ste.Stage2Enabled && !features.Stage2))
        {
            return true;
        }

        // EATS (IGNORED when ATS is absent and for a bypass STE). Split-stage ATS needs nesting without stage-2
        // stalls (IDR0.NS1ATS = 0 here); full ATS cannot go with stage-2 stalls.
        if (features.Ats && config != StreamTableEntry.ConfigBypass)
        {
            if (ste.Eats == 2 && (config != StreamTableEntry.ConfigNested || ste.S2S))
            {
                return true;
            }

            if (ste.Eats == 1 && ste.S2S && ste.Stage2Enabled)
            {
                return true;
            }
        }

        // STRW is used only for a stage-1-only STE on an SMMU with stage 1 and Hyp; 0bx1 is reserved.
        bool strwUsed = features.Stage1 && features.Hyp && config == StreamTableEntry.ConfigS1Translate;
        if (strwUsed && (ste.Strw & 1) != 0)
        {
            return true;
        }

        if (ste.Stage1Enabled && Stage1Illegal(ste, features))
        {
            return true;
        }

        if (ste.Stage2Enabled && Stage2Illegal(ste, features))
        {
            return true;
        }

        // S2VMID[15:8] with 8-bit VMIDs, unless S2VMID is IGNORED (no stage 2, bypass, or a StreamWorld other
        // than NS-EL1: §5.2.2 IgnoreSTES2VMID).
        bool vmidIgnored = !features.Stage2 || config == StreamTableEntry.ConfigBypass || (strwUsed && ste.Strw != 0);
        return !vmidIgnored && !features.Vmid16 && (ste.S2Vmid >> 8) != 0;
    }

    /// <summary>§5.4.2 CdIllegal for a CD reached through a Non-secure STE with StreamWorld NS-EL1.</summary>
    public static bool CdIllegal(in StreamTableEntry ste, in ContextDescriptor cd, SmmuV3Features features)
    {
        if (!cd.Valid)
        {
            return true;
        }

        // Fault model: S1STALLD forbids CD.S; IDR0.TERM_MODEL = 1 requires A; the stall model allows or forces S.
        if ((ste.S1StallD && cd.Stall) || !cd.Abort || (features.StallModel == 1 && cd.Stall) || (features.StallModel == 2 && !cd.Stall))
        {
            return true;
        }

        // ENDI is IGNORED only when both halves are disabled; big-endian walks are not implemented.
        if ((!cd.Epd0 || !cd.Epd1) && cd.Endi)
        {
            return true;
        }

        // AA64 = 0 selects VMSAv8-32 LPAE, which IDR0.TTF does not offer; HTTU is not implemented.
        if (!cd.Aa64 || cd.Ha || cd.Hd)
        {
            return true;
        }

        if (!features.Asid16 && (cd.Asid >> 8) != 0)
        {
            return true;
        }

        int ipsBits = EffectiveSize(cd.Ips, features);
        return (!cd.Epd0 && TranslationIllegal(cd.T0sz, Tg0Granule(cd.Tg0), cd.Ttb0Field, ipsBits, features))
            || (!cd.Epd1 && TranslationIllegal(cd.T1sz, Tg1Granule(cd.Tg1), cd.Ttb1Field, ipsBits, features));
    }

    /// <summary>
    /// The effective output size of a PS/IPS/S2PS encoding (§5.2 S2PS, §5.4 IPS): 32..48 bits, 0b110 = 52 bits
    /// (SMMUv3.0: reserved, behaves as 48), 0b111 behaves as 0b110 up to SMMUv3.3; capped at the OAS.
    /// </summary>
    public static int EffectiveSize(int encoding, SmmuV3Features features)
    {
        int bits = encoding switch
        {
            0 => 32,
            1 => 36,
            2 => 40,
            3 => 42,
            4 => 44,
            5 => 48,
            _ => features.ArchMinorRevision == 0 ? 48 : 52,
        };
        return Math.Min(bits, features.OutputAddressBits);
    }

    private static bool Stage1Illegal(in StreamTableEntry ste, SmmuV3Features features)
    {
        // S1STALLD only where the stall model is configurable (STALL_MODEL = 0b00).
        if (ste.S1StallD && features.StallModel != 0)
        {
            return true;
        }

        if (features.SsidBits != 0)
        {
            if (ste.S1CdMax > features.SsidBits)
            {
                return true;
            }

            // Two-level CD tables need IDR0.CD2L; S1Fmt = 0b11 is reserved and behaves as linear.
            if (ste.S1CdMax != 0 && !features.TwoLevelCdTable && ste.S1Fmt is 1 or 2)
            {
                return true;
            }
        }

        // S1ContextPtr is an IPA (within the IAS) when stage 2 translates, otherwise a PA within the OAS.
        return AboveBits(ste.S1ContextPtrField, features.OutputAddressBits);
    }

    private static bool Stage2Illegal(in StreamTableEntry ste, SmmuV3Features features)
    {
        // Stalls: STALL_MODEL 0b01 has none, 0b10 forces them.
        if ((ste.S2S && features.StallModel == 1) || (!ste.S2S && features.StallModel == 2))
        {
            return true;
        }

        // S2AA64 = 0 selects VMSAv8-32 LPAE, not offered; no HTTU; no big-endian walks.
        if (!ste.S2Aa64 || ste.S2Ha || ste.S2Hd || ste.S2Endi)
        {
            return true;
        }

        var granule = Tg0Granule(ste.S2Tg);
        if (granule is not TranslationGranule g || !GranuleSupported(g, features))
        {
            return true;
        }

        if (TtbOutOfRange(ste.S2TtbField, g, EffectiveSize(ste.S2Ps, features)) || TxSzInvalid(ste.S2T0sz, Math.Max(16, 64 - features.OutputAddressBits)))
        {
            return true;
        }

        return WalkInconsistent(64 - ste.S2T0sz, g, ste.Stage2StartLevel);
    }

    /// <summary>TxSZ range, granule and TTB range of one enabled CD half (§5.4.2 CDTxSZInvalid, the TTBx checks).</summary>
    private static bool TranslationIllegal(int txsz, TranslationGranule? granule, ulong ttb, int ipsBits, SmmuV3Features features) =>
        granule is not TranslationGranule g || !GranuleSupported(g, features) || TxSzInvalid(txsz, 16) || TtbOutOfRange(ttb, g, ipsBits);

    /// <summary>
    /// TxSZ outside <paramref name="minimum"/>..39: MAX(16, 64 − IAS) for S2T0SZ (§5.2), 16 for a CD's T0SZ and
    /// T1SZ with 48-bit VAs (§5.4). 52-bit inputs (DS, 64K with LVA) are not implemented.
    /// </summary>
    private static bool TxSzInvalid(int txsz, int minimum) => txsz < minimum || txsz > MaxTxSz;

    /// <summary>A table base beyond the effective output size, or beyond 48 bits with a 4K or 16K granule.</summary>
    private static bool TtbOutOfRange(ulong ttb, TranslationGranule granule, int bits) =>
        AboveBits(ttb, granule == TranslationGranule.Size64K ? bits : Math.Min(bits, 48));

    /// <summary>
    /// The A-profile consistency of start level, granule and input size (§5.2.1; Arm ARM VTCR_EL2.SL0): the walk
    /// must need the start level, and at most 16 concatenated tables there.
    /// </summary>
    private static bool WalkInconsistent(int inputBits, TranslationGranule granule, int startLevel)
    {
        if (startLevel < 0)
        {
            return true;
        }

        int g = (int)granule;
        int stride = g - 3;
        int minBits = g + ((3 - startLevel) * stride) + 1;
        int maxBits = g + ((4 - startLevel) * stride) + 4;
        return inputBits < minBits || inputBits > maxBits;
    }

    private static bool GranuleSupported(TranslationGranule granule, SmmuV3Features features) => granule switch
    {
        TranslationGranule.Size4K => features.Granule4K,
        TranslationGranule.Size16K => features.Granule16K,
        _ => features.Granule64K,
    };

    private static bool AboveBits(ulong address, int bits) => bits < 64 && (address >> bits) != 0;

    /// <summary>S2TG and CD.TG0 encoding: 0 = 4K, 1 = 64K, 2 = 16K, 3 reserved.</summary>
    private static TranslationGranule? Tg0Granule(int tg) => tg switch
    {
        0 => TranslationGranule.Size4K,
        1 => TranslationGranule.Size64K,
        2 => TranslationGranule.Size16K,
        _ => null,
    };

    /// <summary>CD.TG1 encoding: 0 reserved, 1 = 16K, 2 = 4K, 3 = 64K.</summary>
    private static TranslationGranule? Tg1Granule(int tg) => tg switch
    {
        1 => TranslationGranule.Size16K,
        2 => TranslationGranule.Size4K,
        3 => TranslationGranule.Size64K,
        _ => null,
    };
}
