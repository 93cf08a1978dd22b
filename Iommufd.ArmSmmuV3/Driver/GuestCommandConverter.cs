using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// Validates and rewrites one guest command-queue entry for the host queue (arm-smmu-v3-iommufd.c
/// arm_vsmmu_convert_user_cmd()), strictly enough that no guest entry can make the host queue raise CERROR_ILL (as the
/// stricter, not mainline, revision of that function proposed upstream): an allow-list of opcodes, no reserved bits,
/// field values legal for this SMMU; the VMID forced to the vIOMMU's; vSID → pSID through the vDEVICE table;
/// TLBI_NSNH_ALL → TLBI_NH_ALL.
/// </summary>
public static class GuestCommandConverter
{
    /// <summary>Why a guest entry was refused (the ioctl answers EIO for each).</summary>
    public enum Refusal
    {
        /// <summary>Accepted.</summary>
        None,

        /// <summary>The opcode is not one a guest may forward (<see cref="IsForwardable"/>), or SSec is set on one that is not.</summary>
        OpcodeNotAllowed,

        /// <summary>A bit the opcode does not define on the host's revision is set, or SSec.</summary>
        ReservedBits,

        /// <summary>A field value the host SMMU does not support (range TLBI encoding, ATC_INV size, SubstreamID width).</summary>
        IllegalField,

        /// <summary>No vDEVICE of the vIOMMU has the command's virtual StreamID.</summary>
        UnknownStreamId,
    }

    /// <summary>
    /// Why <see cref="Validate"/> (or <see cref="ConvertAll"/>) refused <paramref name="c"/>, in words that name the
    /// field and the host's ID register (arm-smmu-v3-iommufd.c arm_vsmmu_convert_user_cmd(), kept strict): for the
    /// errno trace of IOMMU_HWPT_INVALIDATE and for SmmuCmd's <c>check</c>.
    /// </summary>
    /// <param name="refusal">What <see cref="Validate"/> answered.</param>
    /// <param name="c">The guest's entry.</param>
    /// <param name="host">The host SMMU's probed features the entry was checked against.</param>
    /// <returns>The reason; a generic one when no specific rule applies.</returns>
    public static string Describe(Refusal refusal, in SmmuCommand c, in ProbedFeatures host)
    {
        SmmuOpcode op = c.Opcode;
        switch (refusal)
        {
            case Refusal.OpcodeNotAllowed:
                string reason = $"{CommandRefusalText.NameOf(op)} is not forwardable; IOMMU_HWPT_INVALIDATE takes only TLBI_NH_ALL, "
                    + "TLBI_NH_ASID, TLBI_NH_VA, TLBI_NH_VAA, TLBI_NSNH_ALL, ATC_INV, CFGI_CD and CFGI_CD_ALL";
                return op == SmmuOpcode.CMD_SYNC ? reason + " (the host appends its own CMD_SYNC)" : reason;
            case Refusal.ReservedBits:
                return c.SSec ? "SSec = 1 (spec §4.1.6)" : CommandRefusalText.Res0Reason(c, host.ArchMinorRevision);
            case Refusal.UnknownStreamId:
                return $"no vDEVICE has virtual StreamID 0x{c.StreamId:x}";
        }

        string? why = op switch
        {
            SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA =>
                CommandRefusalText.RangeReason(c, host.RangeInvalidation, host.Ds, "the host SMMU"),
            SmmuOpcode.ATC_INV when !host.Ats => "ATC_INV needs ATS, which the host SMMU lacks (IDR0.ATS = 0)",
            SmmuOpcode.ATC_INV when c.AtcSize > 52 => $"ATC_INV Size = {c.AtcSize} is above 52",
            SmmuOpcode.ATC_INV when host.SsidBits == 0 && (c.SSV || c.Global) =>
                "ATC_INV SSV and Global need SubstreamIDs, which the host SMMU lacks (IDR1.SSIDSIZE = 0)",
            SmmuOpcode.CFGI_CD when c.SubstreamId >> host.SsidBits != 0 =>
                $"CFGI_CD SSID = 0x{c.SubstreamId:x} does not fit the host's {host.SsidBits}-bit SubstreamIDs",
            _ => null,
        };
        return why ?? $"a field value of {CommandRefusalText.NameOf(op)} is not legal for the host SMMU";
    }

    /// <summary>True for the opcodes a guest may forward (the uAPI header's list).</summary>
    public static bool IsForwardable(SmmuOpcode opcode) => opcode is SmmuOpcode.TLBI_NSNH_ALL or SmmuOpcode.TLBI_NH_VA
        or SmmuOpcode.TLBI_NH_VAA or SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.ATC_INV
        or SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL;

    /// <summary>
    /// Converts <paramref name="command"/> in place; returns why not when it must be refused. The checks are those of
    /// <see cref="Validate"/>, in the same order, each entry checked and rewritten in one pass.
    /// </summary>
    internal static Refusal Convert(ref SmmuCommand command, ushort vmid, IViommuContext context, in ProbedFeatures host) =>
        ConvertAll(MemoryMarshal.CreateSpan(ref command, 1), vmid, context, host, out _);

    /// <summary>
    /// Converts <paramref name="commands"/> in place, in order, up to the first one that must be refused; returns why
    /// it was refused (<see cref="Refusal.None"/> when all were converted) and, in <paramref name="converted"/>, how
    /// many were converted before it. The host's implemented-bit masks are looked up once for the batch, not per entry.
    /// </summary>
    internal static Refusal ConvertAll(Span<SmmuCommand> commands, ushort vmid, IViommuContext context, in ProbedFeatures host, out int converted)
    {
        ArgumentNullException.ThrowIfNull(context);
        var implemented = SmmuCommandLayout.ImplementedMasks(host.ArchMinorRevision);
        ulong vmidField = (ulong)vmid << 32; // as SmmuCommand.WithVmid
        var refusal = Refusal.None;
        int i = 0;
        while (true)
        {
            i += ConvertPlainTlbis(commands[i..], implemented, vmidField);
            if (i == commands.Length)
            {
                break;
            }

            refusal = ConvertEntry(ref commands[i], vmid, context, host, implemented);
            if (refusal != Refusal.None)
            {
                break;
            }

            i++;
        }

        converted = i;
        return refusal;
    }

    /// <summary>
    /// The fast path of <see cref="ConvertAll"/>: converts the leading entries that are a TLBI_NH_ALL, _ASID, _VA or
    /// _VAA with no reserved bit, no SSec and no range or TTL hint (TG = TTL = NUM = SCALE = 0, legal on any host:
    /// <see cref="RangeInvalidation.IsPlain"/>), and returns how many. Every decision it takes is the one
    /// <see cref="ConvertEntry"/> takes; it stops at the first entry of another shape and leaves that entry to it.
    /// </summary>
    /// <remarks>
    /// A leaf loop kept out of its caller, which calls the vDEVICE lookup: with no call in the loop its words, index
    /// and masks stay in registers. With 512-bit vectors it takes four entries at a time while all four qualify, and
    /// the entry-by-entry loop takes the rest, from the first group that has an entry of another shape.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int ConvertPlainTlbis(Span<SmmuCommand> commands, ReadOnlySpan<ulong> implemented, ulong vmidField)
    {
        ref ulong masks = ref MemoryMarshal.GetReference(implemented);
        ref ulong words = ref Unsafe.As<SmmuCommand, ulong>(ref MemoryMarshal.GetReference(commands)); // two an entry
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // The masks of opcodes 0x10–0x13 are eight consecutive words of the table: one vector, from which each lane
            // takes its entry's word by the entry's opcode.
            var forbidden = ~Vector512.LoadUnsafe(ref masks, 2 * (nuint)SmmuOpcode.TLBI_NH_ALL) | PlainTlbiVectors.Fields;
            var vmids = Vector512.Create(vmidField) & PlainTlbiVectors.Vmid;
            for (; i <= commands.Length - 4; i += 4)
            {
                ref ulong group = ref Unsafe.Add(ref words, i * 2);
                var entries = Vector512.LoadUnsafe(ref group);
                // Opcode − TLBI_NH_ALL of each entry, in both its lanes: 0–3 for the four opcodes, above 3 for any other.
                var index = (Vector512.Shuffle(entries, PlainTlbiVectors.Word0OfEntry) & PlainTlbiVectors.Opcode)
                    - PlainTlbiVectors.FirstOpcode;
                var mask = Vector512.Shuffle(forbidden, (index << 1) | PlainTlbiVectors.WordOfEntry);
                if (((entries & mask) | (index & PlainTlbiVectors.NotAnIndex)) != Vector512<ulong>.Zero)
                {
                    break;
                }

                ((entries & ~PlainTlbiVectors.Vmid) | vmids).StoreUnsafe(ref group);
            }
        }

        for (; i < commands.Length; i++)
        {
            ref ulong entry = ref Unsafe.Add(ref words, i * 2);
            ulong w0 = entry, w1 = Unsafe.Add(ref entry, 1);
            uint opcode = (byte)w0;
            // One mask test for the reserved bits, SSec and the range fields together (RangeInvalidation.IsPlain).
            ref ulong mask = ref Unsafe.Add(ref masks, opcode * 2); // at most 2 × 255 + 1 in a span of 512
            if (opcode - (uint)SmmuOpcode.TLBI_NH_ALL > SmmuOpcode.TLBI_NH_VAA - SmmuOpcode.TLBI_NH_ALL
                || ((w0 & (~mask | SmmuCommandLayout.W0_SSEC | RangeInvalidation.Word0Fields))
                    | (w1 & (~Unsafe.Add(ref mask, 1) | RangeInvalidation.Word1Fields))) != 0)
            {
                break;
            }

            entry = (w0 & ~SmmuCommandLayout.W0_VMID) | vmidField; // word 1 does not change
        }

        return i;
    }

    /// <summary>
    /// <see cref="ConvertAll"/> for one entry of any shape: the full rule, as <see cref="Validate"/> checks it, and the
    /// rewrite.
    /// </summary>
    internal static Refusal ConvertEntry(ref SmmuCommand command, ushort vmid, IViommuContext context, in ProbedFeatures host, ReadOnlySpan<ulong> implemented)
    {
        var opcode = command.Opcode;

        // One test for every bit this opcode does not define on this revision, and for SSec (a guest has no Secure
        // streams); which of the two refusals applies is worked out only for a refused entry.
        int index = (byte)opcode * 2;
        if (((command.Word0 & (~implemented[index] | SmmuCommandLayout.W0_SSEC)) | (command.Word1 & ~implemented[index + 1])) != 0)
        {
            return IsForwardable(opcode) ? Refusal.ReservedBits : Refusal.OpcodeNotAllowed;
        }

        switch (opcode)
        {
            case SmmuOpcode.TLBI_NSNH_ALL:
                command = SmmuCommandBuilder.TlbiNhAll(vmid);
                return Refusal.None;
            case SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA when !RangeLegal(command, host):
            case SmmuOpcode.ATC_INV when !AtcInvLegal(command, host):
            case SmmuOpcode.CFGI_CD when !CfgiCdLegal(command, host):
                return Refusal.IllegalField;
            case SmmuOpcode.TLBI_NH_ALL:
            case SmmuOpcode.TLBI_NH_ASID:
            case SmmuOpcode.TLBI_NH_VA:
            case SmmuOpcode.TLBI_NH_VAA:
                command = command.WithVmid(vmid);
                return Refusal.None;
            case SmmuOpcode.ATC_INV:
            case SmmuOpcode.CFGI_CD:
            case SmmuOpcode.CFGI_CD_ALL: // vSID → pSID
                if (!context.TryFindDevice(command.StreamId, out var device))
                {
                    return Refusal.UnknownStreamId;
                }

                command = command.WithStreamId(device.StreamId);
                return Refusal.None;
            default:
                return Refusal.OpcodeNotAllowed;
        }
    }

    /// <summary>
    /// The checks alone (no rewriting): the opcode is forwardable, no reserved bit is set, and every field value is
    /// legal for the host SMMU, so the host queue cannot raise CERROR_ILL on it.
    /// </summary>
    public static Refusal Validate(in SmmuCommand command, in ProbedFeatures host)
    {
        var refusal = CheckOpcodeAndReservedBits(command, host);
        if (refusal != Refusal.None)
        {
            return refusal;
        }

        bool legal = command.Opcode switch
        {
            SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA => RangeLegal(command, host),
            SmmuOpcode.ATC_INV => AtcInvLegal(command, host),
            SmmuOpcode.CFGI_CD => CfgiCdLegal(command, host),
            _ => true,
        };
        return legal ? Refusal.None : Refusal.IllegalField;
    }

    private static Refusal CheckOpcodeAndReservedBits(in SmmuCommand command, in ProbedFeatures host)
    {
        if (!IsForwardable(command.Opcode))
        {
            return Refusal.OpcodeNotAllowed;
        }

        return SmmuCommandLayout.HasReservedBitsSet(command, host.ArchMinorRevision) || command.SSec
            ? Refusal.ReservedBits
            : Refusal.None;
    }

    /// <summary>ATC_INV needs ATS, a Size of at most 52, and SSV or Global only with substreams (spec §4.5.1).</summary>
    private static bool AtcInvLegal(in SmmuCommand command, in ProbedFeatures host) =>
        host.Ats && command.AtcSize <= 52 && (host.SsidBits != 0 || !(command.SSV || command.Global));

    /// <summary>CFGI_CD's SubstreamID within the host's SSIDSIZE (spec §4.3.3).</summary>
    private static bool CfgiCdLegal(in SmmuCommand command, in ProbedFeatures host) =>
        command.SubstreamId >> host.SsidBits == 0;

    /// <summary>The range-TLBI rules of spec §4.4.1.1 against the host's IDR3.RIL and IDR5.DS.</summary>
    private static bool RangeLegal(in SmmuCommand command, in ProbedFeatures host) =>
        RangeInvalidation.IsLegal(command, host.RangeInvalidation, host.Ds);

    /// <summary>
    /// The constants of <see cref="ConvertPlainTlbis"/>'s vector loop, for four entries of two words: lanes 2n hold
    /// word 0 of entry n, lanes 2n + 1 its word 1.
    /// </summary>
    private static class PlainTlbiVectors
    {
        /// <summary>The lane of each lane's entry's word 0.</summary>
        public static readonly Vector512<ulong> Word0OfEntry = Vector512.Create(0UL, 0, 2, 2, 4, 4, 6, 6);

        /// <summary>Which word of its entry a lane holds.</summary>
        public static readonly Vector512<ulong> WordOfEntry = Vector512.Create(0UL, 1, 0, 1, 0, 1, 0, 1);

        /// <summary>The bits no plain TLBI_NH_* may set besides its reserved bits: SSec and the range fields.</summary>
        public static readonly Vector512<ulong> Fields = Vector512.Create(
            SmmuCommandLayout.W0_SSEC | RangeInvalidation.Word0Fields, RangeInvalidation.Word1Fields,
            SmmuCommandLayout.W0_SSEC | RangeInvalidation.Word0Fields, RangeInvalidation.Word1Fields,
            SmmuCommandLayout.W0_SSEC | RangeInvalidation.Word0Fields, RangeInvalidation.Word1Fields,
            SmmuCommandLayout.W0_SSEC | RangeInvalidation.Word0Fields, RangeInvalidation.Word1Fields);

        /// <summary>The VMID field in the word-0 lanes.</summary>
        public static readonly Vector512<ulong> Vmid = Vector512.Create(
            SmmuCommandLayout.W0_VMID, 0, SmmuCommandLayout.W0_VMID, 0, SmmuCommandLayout.W0_VMID, 0, SmmuCommandLayout.W0_VMID, 0);

        /// <summary>The opcode field in every lane.</summary>
        public static readonly Vector512<ulong> Opcode = Vector512.Create(SmmuCommandLayout.W0_OPCODE);

        /// <summary>TLBI_NH_ALL, the first of the four opcodes, in every lane.</summary>
        public static readonly Vector512<ulong> FirstOpcode = Vector512.Create((ulong)SmmuOpcode.TLBI_NH_ALL);

        /// <summary>The bits set in an opcode index that is not one of the four (above 3, or wrapped below 0).</summary>
        public static readonly Vector512<ulong> NotAnIndex = Vector512.Create(~3UL);
    }
}
