namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// What an emulated SMMUv3 implements. The ID registers (<see cref="Idr0"/> …) follow from these settings
/// (layouts in Arm IHI 0070 §6.3.1–§6.3.6); the defaults describe a nesting-capable SMMUv3.1 with ATS and range
/// invalidation.
/// </summary>
public sealed record SmmuV3Features
{
    /// <summary>Stage-1 translation (IDR0.S1P, §6.3; arm-smmu-v3.h IDR0_S1P).</summary>
    public bool Stage1 { get; init; } = true;

    /// <summary>Stage-2 translation (IDR0.S2P; IDR0_S2P). With <see cref="Stage1"/>, nesting.</summary>
    public bool Stage2 { get; init; } = true;

    /// <summary>PCIe ATS (IDR0.ATS; IDR0_ATS): ATS translation requests and ATC_INV.</summary>
    public bool Ats { get; init; } = true;

    /// <summary>The PRI queue (IDR0.PRI; IDR0_PRI): PCIe page requests.</summary>
    public bool Pri { get; init; }

    /// <summary>Range invalidation (IDR3.RIL): TLBI NUM/SCALE/TG.</summary>
    public bool RangeInvalidation { get; init; } = true;

    /// <summary>SEV on CMD_SYNC completion (IDR0.SEV; IDR0_SEV).</summary>
    public bool Sev { get; init; } = true;

    /// <summary>MSIs for CMD_SYNC and the queues (IDR0.MSI; IDR0_MSI).</summary>
    public bool Msi { get; init; } = true;

    /// <summary>The EL2 translation regime (IDR0.HYP; IDR0_HYP): STE.STRW = EL2 and the TLBI_EL2_* commands.</summary>
    public bool Hyp { get; init; }

    /// <summary>Two-level stream tables (IDR0.ST_LEVEL = 1).</summary>
    public bool TwoLevelStreamTable { get; init; } = true;

    /// <summary>Two-level CD tables (IDR0.CD2L).</summary>
    public bool TwoLevelCdTable { get; init; }

    /// <summary>16-bit ASIDs (IDR0.ASID16; IDR0_ASID16); 8-bit without.</summary>
    public bool Asid16 { get; init; } = true;

    /// <summary>16-bit VMIDs (IDR0.VMID16; IDR0_VMID16); 8-bit without.</summary>
    public bool Vmid16 { get; init; } = true;

    /// <summary>IDR5.DS: 52-bit addressing and the sixth SCALE bit. Not modelled beyond the SCALE field.</summary>
    public bool Ds { get; init; }

    /// <summary>IDR3.MPAM (CFGI_VMS_PIDM is legal only with it).</summary>
    public bool Mpam { get; init; }

    /// <summary>IDR0.STALL_MODEL: 0 both, 1 no stall (RESUME/STALL_TERM illegal), 2 stall forced.</summary>
    public int StallModel { get; init; } = 1;

    /// <summary>StreamID width in bits (IDR1.SIDSIZE; IDR1_SIDSIZE), 1 to 32.</summary>
    public int SidBits { get; init; } = 16;

    /// <summary>SubstreamID width in bits (IDR1.SSIDSIZE; IDR1_SSIDSIZE), 0 (no substreams) to 20.</summary>
    public int SsidBits { get; init; } = 20;

    /// <summary>log2 of the largest command queue (IDR1.CMDQS, at most 19).</summary>
    public int CmdqLog2Size { get; init; } = 19;

    /// <summary>log2 of the largest event queue (IDR1.EVENTQS, at most 19).</summary>
    public int EventqLog2Size { get; init; } = 19;

    /// <summary>Output address size in bits (IDR5.OAS encodes it).</summary>
    public int OutputAddressBits { get; init; } = 48;

    /// <summary>The 4KB translation granule (IDR5.GRAN4K; IDR5_GRAN4K); required here.</summary>
    public bool Granule4K { get; init; } = true;

    /// <summary>The 16KB translation granule (IDR5.GRAN16K; IDR5_GRAN16K).</summary>
    public bool Granule16K { get; init; } = true;

    /// <summary>The 64KB translation granule (IDR5.GRAN64K; IDR5_GRAN64K).</summary>
    public bool Granule64K { get; init; } = true;

    /// <summary>SMMU_IIDR: implementer and product, reported as is.</summary>
    public uint Iidr { get; init; } = 0x0000_043B;

    /// <summary>SMMU_AIDR minor revision: 1 = SMMUv3.1.</summary>
    public int ArchMinorRevision { get; init; } = 1;

    /// <summary>The SMMU_IDR0 value these settings give (§6.3; fields as arm-smmu-v3.h IDR0_*): AArch64 tables, coherent, little-endian, terminate model.</summary>
    public uint Idr0 =>
        (Stage2 ? 1u : 0) | (Stage1 ? 1u << 1 : 0) | (2u << 2) /* TTF: AArch64 */ | (1u << 4) /* COHACC */
        | (Hyp ? 1u << 9 : 0) | (Ats ? 1u << 10 : 0) | (Asid16 ? 1u << 12 : 0) | (Msi ? 1u << 13 : 0)
        | (Sev ? 1u << 14 : 0) | (Pri ? 1u << 16 : 0) | (Vmid16 ? 1u << 18 : 0) | (TwoLevelCdTable ? 1u << 19 : 0)
        | (2u << 21) /* TTENDIAN: little-endian */ | ((uint)StallModel << 24) | (1u << 26) /* TERM_MODEL */
        | (TwoLevelStreamTable ? 1u << 27 : 0);

    /// <summary>The SMMU_IDR1 value these settings give (§6.3; IDR1_*): SIDSIZE, SSIDSIZE, EVENTQS and CMDQS.</summary>
    public uint Idr1 =>
        (uint)SidBits | ((uint)SsidBits << 6) | ((uint)EventqLog2Size << 16) | ((uint)CmdqLog2Size << 21);

    /// <summary>The SMMU_IDR3 value these settings give (§6.3; IDR3_RIL): MPAM, RIL and BBML2.</summary>
    public uint Idr3 => (Mpam ? 1u << 7 : 0) | (RangeInvalidation ? 1u << 10 : 0) | (2u << 11) /* BBML2 */;

    /// <summary>The SMMU_IDR5 value these settings give (§6.3; IDR5_*): OAS, the granules and DS.</summary>
    public uint Idr5 =>
        OasEncoding | (Granule4K ? 1u << 4 : 0) | (Granule16K ? 1u << 5 : 0) | (Granule64K ? 1u << 6 : 0) | (Ds ? 1u << 7 : 0);

    /// <summary>The SMMU_AIDR value (§6.3): ArchMajorRev 0 (SMMUv3) and <see cref="ArchMinorRevision"/>.</summary>
    public uint Aidr => (uint)ArchMinorRevision & 0xF;

    private uint OasEncoding => OutputAddressBits switch
    {
        32 => 0,
        36 => 1,
        40 => 2,
        42 => 3,
        44 => 4,
        48 => 5,
        52 => 6,
        _ => throw new InvalidOperationException($"{OutputAddressBits} is not an SMMUv3 output address size"),
    };

    /// <summary>Checks the settings; returns the problems found (options are validated when the provider is built).</summary>
    public List<string> Validate()
    {
        var errors = new List<string>();
        if (!Stage1 && !Stage2)
        {
            errors.Add("an SMMU implements at least one stage");
        }

        if (CmdqLog2Size is < 7 or > 19)
        {
            errors.Add("CmdqLog2Size must be 7..19 (a 64-entry batch plus a CMD_SYNC must fit)");
        }

        if (EventqLog2Size is < 1 or > 19)
        {
            errors.Add("EventqLog2Size must be 1..19");
        }

        if (SidBits is < 1 or > 32 || SsidBits is < 0 or > 20)
        {
            errors.Add("SidBits must be 1..32 and SsidBits 0..20");
        }

        if (OutputAddressBits is not (32 or 36 or 40 or 42 or 44 or 48 or 52))
        {
            errors.Add("OutputAddressBits must be an OAS value: 32, 36, 40, 42, 44, 48 or 52");
        }

        if (!Granule4K)
        {
            errors.Add("the 4K granule is required");
        }

        if (StallModel is < 0 or > 2)
        {
            errors.Add("StallModel must be 0, 1 or 2");
        }

        return errors;
    }
}
