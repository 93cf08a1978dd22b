namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The named fields of a command-queue entry, one flag per field. <see cref="SmmuCommandLayout"/> says which fields
/// each opcode defines and where each field lives; the flags are declared in the order the decoder prints them.
/// </summary>
/// <remarks>Positions: arm-smmu-v3.h CMDQ_* (Arm IHI 0070 §4.1.6 and the per-command sections).</remarks>
[Flags]
internal enum SmmuCommandFields : uint
{
    None = 0,

    /// <summary>SSec, w0[10].</summary>
    SSec = 1u << 0,

    /// <summary>SSV, w0[11].</summary>
    SSV = 1u << 1,

    /// <summary>SubstreamID, w0[31:12].</summary>
    SubstreamId = 1u << 2,

    /// <summary>StreamID, w0[63:32].</summary>
    StreamId = 1u << 3,

    /// <summary>VMID, w0[47:32].</summary>
    Vmid = 1u << 4,

    /// <summary>ASID, w0[63:48].</summary>
    Asid = 1u << 5,

    /// <summary>ATC_INV Global, w0[9].</summary>
    Global = 1u << 6,

    /// <summary>RESUME Ac, w0[12].</summary>
    Ac = 1u << 7,

    /// <summary>RESUME Ab, w0[13].</summary>
    Ab = 1u << 8,

    /// <summary>CMD_SYNC CS, w0[13:12].</summary>
    Cs = 1u << 9,

    /// <summary>CMD_SYNC MSH, w0[23:22].</summary>
    Msh = 1u << 10,

    /// <summary>CMD_SYNC MSIAttr, w0[27:24].</summary>
    MsiAttr = 1u << 11,

    /// <summary>CMD_SYNC MSIData, w0[63:32].</summary>
    MsiData = 1u << 12,

    /// <summary>CMD_SYNC MSIAddress, w1[55:2], kept in place.</summary>
    MsiAddress = 1u << 13,

    /// <summary>Virtual address, w1[63:12], kept in place.</summary>
    Address = 1u << 14,

    /// <summary>IPA, w1[55:12], kept in place.</summary>
    Ipa = 1u << 15,

    /// <summary>Physical address (DPTI_PA), w1[55:12], kept in place.</summary>
    Pa = 1u << 16,

    /// <summary>ATC_INV Size, w1[5:0].</summary>
    AtcSize = 1u << 17,

    /// <summary>PREFETCH_ADDR Size, w1[4:0].</summary>
    PrefetchSize = 1u << 18,

    /// <summary>TG, w1[11:10].</summary>
    Tg = 1u << 19,

    /// <summary>TTL, w1[9:8].</summary>
    Ttl = 1u << 20,

    /// <summary>TTL128, w1[7].</summary>
    Ttl128 = 1u << 21,

    /// <summary>NUM, w0[16:12].</summary>
    Num = 1u << 22,

    /// <summary>SCALE, w0[25:20] (bit 25 only with IDR5.DS).</summary>
    Scale = 1u << 23,

    /// <summary>Leaf, w1[0].</summary>
    Leaf = 1u << 24,

    /// <summary>CFGI_STE_RANGE Range, w1[4:0].</summary>
    Range = 1u << 25,

    /// <summary>PRI_RESP PRGIndex, w1[8:0].</summary>
    PrgIndex = 1u << 26,

    /// <summary>PRI_RESP Resp, w1[13:12].</summary>
    Resp = 1u << 27,

    /// <summary>RESUME STAG, w1[15:0].</summary>
    Stag = 1u << 28,

    /// <summary>The fields every range-capable TLBI by address carries besides its address and IDs.</summary>
    RangeTlbi = Tg | Ttl | Ttl128 | Num | Scale | Leaf,
}
