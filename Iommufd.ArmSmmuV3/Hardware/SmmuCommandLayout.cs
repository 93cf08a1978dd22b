using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Where each field of a command-queue entry lives, and which bits each opcode defines. Positions come from
/// arm-smmu-v3.h CMDQ_* (Arm IHI 0070 §4.1.6 and the per-command sections of chapter 4).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="DefinedMask(SmmuOpcode, out ulong, out ulong)"/> is the architectural superset: every field the
/// opcode can carry in the most capable implementation. A bit outside it is RES0, and the hardware model may answer
/// it with CERROR_ILL (spec §4.1.5). Bits that are fields only when a feature is present stay inside the mask, and
/// the model must check them against its ID registers itself:
/// </para>
/// <list type="bullet">
///   <item><see cref="W0_SCALE_DS"/>, SCALE[5], exists only with IDR5.DS = 1.</item>
///   <item><see cref="W1_TTL128"/> exists only in spec revisions with 128-bit descriptors.</item>
///   <item>NUM and SCALE are RES0 when TG = 0 or IDR3.RIL = 0 (spec §4.4.1.1).</item>
///   <item>VMID is RES0 when stage 2 is not implemented.</item>
///   <item><see cref="W1_PA_55_52"/> (PA/IPA and MSIAddress bits [55:52]) is RES0 in SMMUv3.1–v3.3, and bits
///   [55:48] are RES0 in SMMUv3.0 (spec §4.1.6).</item>
/// </list>
/// <para>
/// Not modelled, because the spec text used here gives no bit positions for them: PREFETCH_ADDR Stride and NS, and
/// DPTI_PA Size and Leaf. Those bits count as RES0 here, so a model that checks reserved bits answers them with
/// CERROR_ILL, which the spec allows for Stride in SMMUv3.0 and for DPTI_* whenever IDR3.DPT = 0.
/// </para>
/// </remarks>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Field masks keep the specification's field mnemonics, prefixed by their word.")]
public static class SmmuCommandLayout
{
    /// <summary>Size of one command-queue entry in bytes (Linux <c>CMDQ_ENT_DWORDS</c> × 8).</summary>
    public const int EntrySize = 16;

    /// <summary>Opcode, w0[7:0].</summary>
    public const ulong W0_OPCODE = 0xFF;

    /// <summary>ATC_INV Global, w0[9].</summary>
    public const ulong W0_GLOBAL = 1UL << 9;

    /// <summary>SSec, w0[10].</summary>
    public const ulong W0_SSEC = 1UL << 10;

    /// <summary>SSV, w0[11].</summary>
    public const ulong W0_SSV = 1UL << 11;

    /// <summary>SubstreamID, w0[31:12].</summary>
    public const ulong W0_SSID = 0xFFFF_F000;

    /// <summary>StreamID, w0[63:32].</summary>
    public const ulong W0_SID = 0xFFFF_FFFF_0000_0000;

    /// <summary>VMID, w0[47:32].</summary>
    public const ulong W0_VMID = 0x0000_FFFF_0000_0000;

    /// <summary>ASID, w0[63:48].</summary>
    public const ulong W0_ASID = 0xFFFF_0000_0000_0000;

    /// <summary>NUM, w0[16:12].</summary>
    public const ulong W0_NUM = 0x0001_F000;

    /// <summary>SCALE, w0[25:20]: five bits, six with IDR5.DS.</summary>
    public const ulong W0_SCALE = 0x03F0_0000;

    /// <summary>SCALE[5], w0[25]: a field bit only with IDR5.DS = 1.</summary>
    public const ulong W0_SCALE_DS = 1UL << 25;

    /// <summary>RESUME Ac, w0[12].</summary>
    public const ulong W0_AC = 1UL << 12;

    /// <summary>RESUME Ab, w0[13].</summary>
    public const ulong W0_AB = 1UL << 13;

    /// <summary>CMD_SYNC CS, w0[13:12].</summary>
    public const ulong W0_CS = 0x3000;

    /// <summary>CMD_SYNC MSH, w0[23:22].</summary>
    public const ulong W0_MSH = 0x00C0_0000;

    /// <summary>CMD_SYNC MSIAttr, w0[27:24].</summary>
    public const ulong W0_MSIATTR = 0x0F00_0000;

    /// <summary>CMD_SYNC MSIData, w0[63:32].</summary>
    public const ulong W0_MSIDATA = 0xFFFF_FFFF_0000_0000;

    /// <summary>Leaf, w1[0] ([64]).</summary>
    public const ulong W1_LEAF = 1;

    /// <summary>TTL128, w1[7] ([71]).</summary>
    public const ulong W1_TTL128 = 1UL << 7;

    /// <summary>TTL, w1[9:8] ([73:72]).</summary>
    public const ulong W1_TTL = 0x300;

    /// <summary>TG, w1[11:10] ([75:74]).</summary>
    public const ulong W1_TG = 0xC00;

    /// <summary>Virtual address, w1[63:12]; bits [11:0] are taken as 0.</summary>
    public const ulong W1_VA = 0xFFFF_FFFF_FFFF_F000;

    /// <summary>Physical or intermediate physical address, w1[55:12] (spec §4.1.6).</summary>
    public const ulong W1_PA = 0x00FF_FFFF_FFFF_F000;

    /// <summary>Bits [55:52] of a PA, IPA or MSIAddress field, RES0 in SMMUv3.1–v3.3.</summary>
    public const ulong W1_PA_55_52 = 0x00F0_0000_0000_0000;

    /// <summary>Bits [55:48] of a PA, IPA or MSIAddress field, RES0 in SMMUv3.0.</summary>
    public const ulong W1_PA_55_48 = 0x00FF_0000_0000_0000;

    /// <summary>CFGI_STE_RANGE Range, w1[4:0].</summary>
    public const ulong W1_RANGE = 0x1F;

    /// <summary>ATC_INV Size, w1[5:0].</summary>
    public const ulong W1_ATC_SIZE = 0x3F;

    /// <summary>PREFETCH_ADDR Size, w1[4:0].</summary>
    public const ulong W1_PREFETCH_SIZE = 0x1F;

    /// <summary>PRI_RESP PRGIndex, w1[8:0].</summary>
    public const ulong W1_PRGINDEX = 0x1FF;

    /// <summary>PRI_RESP Resp, w1[13:12].</summary>
    public const ulong W1_RESP = 0x3000;

    /// <summary>RESUME STAG, w1[15:0].</summary>
    public const ulong W1_STAG = 0xFFFF;

    /// <summary>CMD_SYNC MSIAddress, w1[55:2]; bits [1:0] are taken as 0. Linux masks it at [51:2].</summary>
    public const ulong W1_MSIADDR = 0x00FF_FFFF_FFFF_FFFC;

    /// <summary>Defined-bit masks per opcode byte: entry 2n is word 0, entry 2n + 1 is word 1.</summary>
    private static readonly ulong[] s_definedMasks = BuildDefinedMasks();

    /// <summary>
    /// <see cref="s_definedMasks"/> without the bits an implementation of each revision class (see
    /// <see cref="RevisionClass"/>) does not have, 512 entries a class, so the reserved-bit check is one lookup.
    /// </summary>
    private static readonly ulong[] s_implementedMasks = BuildImplementedMasks();

    /// <summary>Whether <paramref name="opcode"/> is architected (a member of <see cref="SmmuOpcode"/>).</summary>
    public static bool IsDefined(SmmuOpcode opcode) => TryGetFields(opcode, out _);

    /// <summary>Whether <paramref name="opcode"/> lies in the IMPLEMENTATION DEFINED range 0x80–0x8F.</summary>
    public static bool IsImplementationDefined(byte opcode) => opcode is >= 0x80 and <= 0x8F;

    /// <summary>
    /// The bits <paramref name="opcode"/> defines, opcode included; every other bit is RES0. For a Reserved opcode
    /// only the opcode bits are "defined" (the whole command is CERROR_ILL anyway); for an IMPLEMENTATION DEFINED one
    /// every bit is, since its layout is unknown here.
    /// </summary>
    public static void DefinedMask(SmmuOpcode opcode, out ulong w0, out ulong w1)
    {
        int i = (byte)opcode * 2;
        w0 = s_definedMasks[i];
        w1 = s_definedMasks[i + 1];
    }

    /// <summary>Whether any RES0 bit of <paramref name="command"/> is set, for its own opcode.</summary>
    public static bool HasReservedBitsSet(in SmmuCommand command)
    {
        DefinedMask(command.Opcode, out ulong w0, out ulong w1);
        return ((command.Word0 & ~w0) | (command.Word1 & ~w1)) != 0;
    }

    /// <summary>
    /// Whether any bit of <paramref name="command"/> is RES0 on this implementation (spec §4.1.5): outside its
    /// opcode's fields, or in a field this SMMU does not have: TTL128 (no VMSAv9-128 descriptors), and address bits
    /// above the implemented size in a PA, IPA or MSIAddress field (bits [55:52] in SMMUv3.1–v3.3, [55:48] in
    /// SMMUv3.0, per <paramref name="archMinorRevision"/>, SMMU_AIDR.ArchMinorRev). The model and the host's guest
    /// command checks both use it, so that they refuse the same commands.
    /// </summary>
    public static bool HasReservedBitsSet(in SmmuCommand command, int archMinorRevision)
    {
        int i = (RevisionClass(archMinorRevision) * 512) + ((byte)command.Opcode * 2);
        return ((command.Word0 & ~s_implementedMasks[i]) | (command.Word1 & ~s_implementedMasks[i + 1])) != 0;
    }

    /// <summary>
    /// The implemented-bit masks of <see cref="HasReservedBitsSet(in SmmuCommand, int)"/> for one revision: entry 2n is
    /// word 0 of opcode n, entry 2n + 1 its word 1. A caller checking a batch looks the revision up once.
    /// </summary>
    public static ReadOnlySpan<ulong> ImplementedMasks(int archMinorRevision) =>
        s_implementedMasks.AsSpan(RevisionClass(archMinorRevision) * 512, 512);

    /// <summary>The fields an architected opcode defines; false for Reserved and IMPLEMENTATION DEFINED ones.</summary>
    internal static bool TryGetFields(SmmuOpcode opcode, out SmmuCommandFields fields)
    {
        const SmmuCommandFields Stream = SmmuCommandFields.SSec | SmmuCommandFields.StreamId;
        const SmmuCommandFields Substream = SmmuCommandFields.SSV | SmmuCommandFields.SubstreamId;
        const SmmuCommandFields Va = SmmuCommandFields.Address | SmmuCommandFields.RangeTlbi;
        const SmmuCommandFields Ipa = SmmuCommandFields.Ipa | SmmuCommandFields.RangeTlbi;

        SmmuCommandFields? known = opcode switch
        {
            SmmuOpcode.PREFETCH_CONFIG => Stream | Substream,
            SmmuOpcode.PREFETCH_ADDR => Stream | Substream | SmmuCommandFields.Address | SmmuCommandFields.PrefetchSize,
            SmmuOpcode.CFGI_STE => Stream | SmmuCommandFields.Leaf,
            SmmuOpcode.CFGI_STE_RANGE => Stream | SmmuCommandFields.Range,
            // CFGI_CD has a SubstreamID but no SSV (spec §4.3.3).
            SmmuOpcode.CFGI_CD => Stream | SmmuCommandFields.SubstreamId | SmmuCommandFields.Leaf,
            SmmuOpcode.CFGI_CD_ALL => Stream,
            SmmuOpcode.CFGI_VMS_PIDM => SmmuCommandFields.SSec | SmmuCommandFields.Vmid,
            SmmuOpcode.TLBI_NH_ALL => SmmuCommandFields.Vmid,
            SmmuOpcode.TLBI_NH_ASID => SmmuCommandFields.Vmid | SmmuCommandFields.Asid,
            SmmuOpcode.TLBI_NH_VA => SmmuCommandFields.Vmid | SmmuCommandFields.Asid | Va,
            SmmuOpcode.TLBI_NH_VAA => SmmuCommandFields.Vmid | Va,
            SmmuOpcode.TLBI_EL3_ALL => SmmuCommandFields.None,
            SmmuOpcode.TLBI_EL3_VA => Va,
            SmmuOpcode.TLBI_EL2_ALL or SmmuOpcode.TLBI_S_EL2_ALL => SmmuCommandFields.None,
            SmmuOpcode.TLBI_EL2_ASID or SmmuOpcode.TLBI_S_EL2_ASID => SmmuCommandFields.Asid,
            SmmuOpcode.TLBI_EL2_VA or SmmuOpcode.TLBI_S_EL2_VA => SmmuCommandFields.Asid | Va,
            SmmuOpcode.TLBI_EL2_VAA or SmmuOpcode.TLBI_S_EL2_VAA => Va,
            SmmuOpcode.TLBI_S12_VMALL or SmmuOpcode.TLBI_S_S12_VMALL => SmmuCommandFields.Vmid,
            SmmuOpcode.TLBI_S2_IPA or SmmuOpcode.TLBI_S_S2_IPA => SmmuCommandFields.Vmid | Ipa,
            SmmuOpcode.TLBI_NSNH_ALL or SmmuOpcode.TLBI_SNH_ALL => SmmuCommandFields.None,
            // ATC_INV and PRI_RESP have no SSec: ATS and PRI exist only for Non-secure and Realm streams.
            SmmuOpcode.ATC_INV => Substream | SmmuCommandFields.StreamId | SmmuCommandFields.Global
                | SmmuCommandFields.Address | SmmuCommandFields.AtcSize,
            SmmuOpcode.PRI_RESP => Substream | SmmuCommandFields.StreamId | SmmuCommandFields.PrgIndex
                | SmmuCommandFields.Resp,
            SmmuOpcode.RESUME => Stream | SmmuCommandFields.Ac | SmmuCommandFields.Ab | SmmuCommandFields.Stag,
            SmmuOpcode.STALL_TERM => Stream,
            SmmuOpcode.CMD_SYNC => SmmuCommandFields.Cs | SmmuCommandFields.Msh | SmmuCommandFields.MsiAttr
                | SmmuCommandFields.MsiData | SmmuCommandFields.MsiAddress,
            SmmuOpcode.DPTI_ALL => SmmuCommandFields.None,
            // Only the address is modelled; see the remarks on this class.
            SmmuOpcode.DPTI_PA => SmmuCommandFields.Pa,
            _ => null,
        };

        fields = known.GetValueOrDefault();
        return known.HasValue;
    }

    /// <summary>The bits of one field (or the union of several).</summary>
    internal static void FieldMask(SmmuCommandFields fields, out ulong w0, out ulong w1)
    {
        w0 = 0;
        w1 = 0;
        uint rest = (uint)fields;
        while (rest != 0)
        {
            var field = (SmmuCommandFields)(rest & (0u - rest));
            rest &= rest - 1;
            switch (field)
            {
                case SmmuCommandFields.SSec: w0 |= W0_SSEC; break;
                case SmmuCommandFields.SSV: w0 |= W0_SSV; break;
                case SmmuCommandFields.SubstreamId: w0 |= W0_SSID; break;
                case SmmuCommandFields.StreamId: w0 |= W0_SID; break;
                case SmmuCommandFields.Vmid: w0 |= W0_VMID; break;
                case SmmuCommandFields.Asid: w0 |= W0_ASID; break;
                case SmmuCommandFields.Global: w0 |= W0_GLOBAL; break;
                case SmmuCommandFields.Ac: w0 |= W0_AC; break;
                case SmmuCommandFields.Ab: w0 |= W0_AB; break;
                case SmmuCommandFields.Cs: w0 |= W0_CS; break;
                case SmmuCommandFields.Msh: w0 |= W0_MSH; break;
                case SmmuCommandFields.MsiAttr: w0 |= W0_MSIATTR; break;
                case SmmuCommandFields.MsiData: w0 |= W0_MSIDATA; break;
                case SmmuCommandFields.MsiAddress: w1 |= W1_MSIADDR; break;
                case SmmuCommandFields.Address: w1 |= W1_VA; break;
                case SmmuCommandFields.Ipa: w1 |= W1_PA; break;
                case SmmuCommandFields.Pa: w1 |= W1_PA; break;
                case SmmuCommandFields.AtcSize: w1 |= W1_ATC_SIZE; break;
                case SmmuCommandFields.PrefetchSize: w1 |= W1_PREFETCH_SIZE; break;
                case SmmuCommandFields.Tg: w1 |= W1_TG; break;
                case SmmuCommandFields.Ttl: w1 |= W1_TTL; break;
                case SmmuCommandFields.Ttl128: w1 |= W1_TTL128; break;
                case SmmuCommandFields.Num: w0 |= W0_NUM; break;
                case SmmuCommandFields.Scale: w0 |= W0_SCALE; break;
                case SmmuCommandFields.Leaf: w1 |= W1_LEAF; break;
                case SmmuCommandFields.Range: w1 |= W1_RANGE; break;
                case SmmuCommandFields.PrgIndex: w1 |= W1_PRGINDEX; break;
                case SmmuCommandFields.Resp: w1 |= W1_RESP; break;
                case SmmuCommandFields.Stag: w1 |= W1_STAG; break;
                default: throw new ArgumentOutOfRangeException(nameof(fields), fields, "Unknown command field.");
            }
        }
    }

    /// <summary>
    /// Whether a field is an address kept in place (its value is the masked word, low bits zero) rather than a
    /// number shifted down to bit 0.
    /// </summary>
    internal static bool IsInPlaceAddress(SmmuCommandFields field) =>
        field is SmmuCommandFields.Address or SmmuCommandFields.Ipa or SmmuCommandFields.Pa
            or SmmuCommandFields.MsiAddress;

    /// <summary>The value of one field of (<paramref name="w0"/>, <paramref name="w1"/>).</summary>
    internal static ulong GetField(SmmuCommandFields field, ulong w0, ulong w1)
    {
        FieldMask(field, out ulong m0, out ulong m1);
        ulong mask = m0 | m1;
        ulong bits = (m0 != 0 ? w0 : w1) & mask;
        return IsInPlaceAddress(field) ? bits : bits >> BitOperations.TrailingZeroCount(mask);
    }

    private static ulong[] BuildDefinedMasks()
    {
        var masks = new ulong[256 * 2];
        for (int op = 0; op < 256; op++)
        {
            if (IsImplementationDefined((byte)op))
            {
                masks[op * 2] = ulong.MaxValue;
                masks[(op * 2) + 1] = ulong.MaxValue;
                continue;
            }

            masks[op * 2] = W0_OPCODE;
            if (TryGetFields((SmmuOpcode)op, out SmmuCommandFields fields))
            {
                FieldMask(fields, out ulong w0, out ulong w1);
                masks[op * 2] |= w0;
                masks[(op * 2) + 1] = w1;
            }
        }

        return masks;
    }

    /// <summary>
    /// Which PA bits an SMMU_AIDR.ArchMinorRev leaves RES0 (spec §4.1.6): 0 for SMMUv3.0 ([55:48]), 1 for
    /// SMMUv3.1–v3.3 ([55:52]), 2 for later revisions (none).
    /// </summary>
    private static int RevisionClass(int archMinorRevision) =>
        archMinorRevision >= 4 ? 2 : archMinorRevision == 0 ? 0 : 1;

    private static ulong[] BuildImplementedMasks()
    {
        var masks = new ulong[3 * 512];
        for (int revisionClass = 0; revisionClass < 3; revisionClass++)
        {
            for (int op = 0; op < 256; op++)
            {
                int i = (revisionClass * 512) + (op * 2);
                masks[i] = s_definedMasks[op * 2];
                masks[i + 1] = s_definedMasks[(op * 2) + 1];
                if (!TryGetFields((SmmuOpcode)op, out var fields))
                {
                    continue;
                }

                // No VMSAv9-128 descriptors here, so TTL128 is never implemented.
                ulong unimplemented = (fields & SmmuCommandFields.Ttl128) != 0 ? W1_TTL128 : 0;
                if ((fields & (SmmuCommandFields.Ipa | SmmuCommandFields.Pa | SmmuCommandFields.MsiAddress)) != 0
                    && revisionClass < 2)
                {
                    unimplemented |= revisionClass == 0 ? W1_PA_55_48 : W1_PA_55_52;
                }

                masks[i + 1] &= ~unimplemented;
            }
        }

        return masks;
    }
}
