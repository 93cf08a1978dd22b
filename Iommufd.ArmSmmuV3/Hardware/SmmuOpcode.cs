namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The 8-bit opcode in bits [7:0] of every SMMUv3 command-queue entry (spec §4.1.1; arm-smmu-v3.h
/// CMDQ_OP_*). Member names keep the specification's mnemonics without the <c>CMD_</c> prefix, except
/// <see cref="CMD_SYNC"/>, whose mnemonic is the prefix itself.
/// </summary>
/// <remarks>
/// <para>
/// Opcodes 0x80–0x8F are IMPLEMENTATION DEFINED and every other value is Reserved (CERROR_ILL); neither has a
/// member here. <see cref="SmmuCommandLayout.IsDefined(SmmuOpcode)"/> and
/// <see cref="SmmuCommandLayout.IsImplementationDefined(byte)"/> tell them apart.
/// </para>
/// <para>
/// CFGI_ALL is not an opcode of its own: it is <see cref="CFGI_STE_RANGE"/> with Range = 31 (spec §4.3.6), which is
/// what Linux sends as <c>CMDQ_OP_CFGI_ALL</c>. QEMU's enum mislabels 0x07 as CFGI_ALL (QEMU hw/arm/smmuv3-internal.h
/// SMMUCommandType).
/// </para>
/// </remarks>
public enum SmmuOpcode : byte
{
    /// <summary>CMD_PREFETCH_CONFIG: prefetch the STE and CD of a stream (spec §4.2.1).</summary>
    PREFETCH_CONFIG = 0x01,

    /// <summary>CMD_PREFETCH_ADDR: prefetch configuration and TLB entries for an address span (spec §4.2.2).</summary>
    PREFETCH_ADDR = 0x02,

    /// <summary>CMD_CFGI_STE: invalidate the cached STE of one StreamID (spec §4.3.1).</summary>
    CFGI_STE = 0x03,

    /// <summary>CMD_CFGI_STE_RANGE: drop 2^(Range+1) aligned STEs; Range = 31 is CFGI_ALL (spec §4.3.2).</summary>
    CFGI_STE_RANGE = 0x04,

    /// <summary>CMD_CFGI_CD: invalidate the cached CD of one StreamID and SubstreamID (spec §4.3.3).</summary>
    CFGI_CD = 0x05,

    /// <summary>CMD_CFGI_CD_ALL: invalidate every cached CD of one StreamID (spec §4.3.4).</summary>
    CFGI_CD_ALL = 0x06,

    /// <summary>CMD_CFGI_VMS_PIDM: invalidate the cached PARTID map of a VMS (MPAM; spec §4.3.5).</summary>
    CFGI_VMS_PIDM = 0x07,

    /// <summary>CMD_TLBI_NH_ALL: invalidate all stage-1 entries of a VMID (spec §4.4).</summary>
    TLBI_NH_ALL = 0x10,

    /// <summary>CMD_TLBI_NH_ASID: invalidate the stage-1 entries of one ASID in a VMID.</summary>
    TLBI_NH_ASID = 0x11,

    /// <summary>CMD_TLBI_NH_VA: invalidate stage-1 entries by VA (and range) for one ASID in a VMID.</summary>
    TLBI_NH_VA = 0x12,

    /// <summary>CMD_TLBI_NH_VAA: invalidate stage-1 entries by VA (and range) for all ASIDs in a VMID.</summary>
    TLBI_NH_VAA = 0x13,

    /// <summary>CMD_TLBI_EL3_ALL: invalidate all EL3 entries; Secure queue only.</summary>
    TLBI_EL3_ALL = 0x18,

    /// <summary>CMD_TLBI_EL3_VA: invalidate EL3 entries by VA; Secure queue only.</summary>
    TLBI_EL3_VA = 0x1A,

    /// <summary>CMD_TLBI_EL2_ALL: invalidate all EL2 entries; needs IDR0.HYP.</summary>
    TLBI_EL2_ALL = 0x20,

    /// <summary>CMD_TLBI_EL2_ASID: invalidate the EL2 entries of one ASID.</summary>
    TLBI_EL2_ASID = 0x21,

    /// <summary>CMD_TLBI_EL2_VA: invalidate EL2 entries by VA for one ASID.</summary>
    TLBI_EL2_VA = 0x22,

    /// <summary>CMD_TLBI_EL2_VAA: invalidate EL2 entries by VA for all ASIDs.</summary>
    TLBI_EL2_VAA = 0x23,

    /// <summary>CMD_TLBI_S12_VMALL: invalidate every stage-1 and stage-2 entry of a VMID; needs stage 2.</summary>
    TLBI_S12_VMALL = 0x28,

    /// <summary>CMD_TLBI_S2_IPA: invalidate stage-2 entries by IPA (and range) for a VMID; needs stage 2.</summary>
    TLBI_S2_IPA = 0x2A,

    /// <summary>CMD_TLBI_NSNH_ALL: invalidate every Non-secure, non-hypervisor entry.</summary>
    TLBI_NSNH_ALL = 0x30,

    /// <summary>CMD_ATC_INV: invalidate a device's ATC (ATS) entries; needs IDR0.ATS (spec §4.5.1).</summary>
    ATC_INV = 0x40,

    /// <summary>CMD_PRI_RESP: respond to a PRI page request group; needs IDR0.PRI (spec §4.5.2).</summary>
    PRI_RESP = 0x41,

    /// <summary>CMD_RESUME: retry or terminate a stalled transaction (spec §4.7.1).</summary>
    RESUME = 0x44,

    /// <summary>CMD_STALL_TERM: terminate every stalled transaction of a StreamID (spec §4.7.2).</summary>
    STALL_TERM = 0x45,

    /// <summary>CMD_SYNC: completes all earlier commands on the same queue, then signals (spec §4.7.3).</summary>
    CMD_SYNC = 0x46,

    /// <summary>CMD_TLBI_S_EL2_ALL: Secure EL2 counterpart of <see cref="TLBI_EL2_ALL"/>; Secure queue only.</summary>
    TLBI_S_EL2_ALL = 0x50,

    /// <summary>CMD_TLBI_S_EL2_ASID: Secure EL2 counterpart of <see cref="TLBI_EL2_ASID"/>.</summary>
    TLBI_S_EL2_ASID = 0x51,

    /// <summary>CMD_TLBI_S_EL2_VA: Secure EL2 counterpart of <see cref="TLBI_EL2_VA"/>.</summary>
    TLBI_S_EL2_VA = 0x52,

    /// <summary>CMD_TLBI_S_EL2_VAA: Secure EL2 counterpart of <see cref="TLBI_EL2_VAA"/>.</summary>
    TLBI_S_EL2_VAA = 0x53,

    /// <summary>CMD_TLBI_S_S12_VMALL: Secure counterpart of <see cref="TLBI_S12_VMALL"/>.</summary>
    TLBI_S_S12_VMALL = 0x58,

    /// <summary>CMD_TLBI_S_S2_IPA: Secure counterpart of <see cref="TLBI_S2_IPA"/>.</summary>
    TLBI_S_S2_IPA = 0x5A,

    /// <summary>CMD_TLBI_SNH_ALL: invalidate every Secure non-hypervisor entry; CERROR_ILL on the NS queue.</summary>
    TLBI_SNH_ALL = 0x60,

    /// <summary>CMD_DPTI_ALL: drop all cached Device Permission Table data; needs IDR3.DPT (spec §4.6.1).</summary>
    DPTI_ALL = 0x70,

    /// <summary>CMD_DPTI_PA: invalidate cached DPT information for a physical address region (spec §4.6.2).</summary>
    DPTI_PA = 0x73,
}
