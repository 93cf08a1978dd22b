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
        None,
        OpcodeNotAllowed,
        ReservedBits,
        IllegalField,
        UnknownStreamId,
    }

    /// <summary>The refusal in words, for the errno trace (SmmuCmd's <c>check</c> gives the longer, per-field account).</summary>
    public static string Describe(Refusal refusal, in SmmuCommand command) => refusal switch
    {
        Refusal.OpcodeNotAllowed => "not an opcode a guest may forward",
        Refusal.ReservedBits => "a reserved bit is set",
        Refusal.IllegalField => "a field value this SMMU does not support",
        Refusal.UnknownStreamId => $"no vDEVICE has vSID 0x{command.StreamId:x}",
        _ => refusal.ToString(),
    };

    /// <summary>True for the opcodes a guest may forward (the uAPI header's list).</summary>
    public static bool IsForwardable(SmmuOpcode opcode) => opcode is SmmuOpcode.TLBI_NSNH_ALL or SmmuOpcode.TLBI_NH_VA
        or SmmuOpcode.TLBI_NH_VAA or SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.ATC_INV
        or SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL;

    /// <summary>
    /// Converts <paramref name="command"/> in place; returns why not when it must be refused. The checks are those of
    /// <see cref="Validate"/>, in the same order, with one switch on the opcode that checks its fields and rewrites.
    /// </summary>
    public static Refusal Convert(ref SmmuCommand command, ushort vmid, IViommuContext context, in ProbedFeatures host)
    {
        ArgumentNullException.ThrowIfNull(context);
        var opcode = command.Opcode;
        var refusal = CheckOpcodeAndReservedBits(command, host);
        if (refusal != Refusal.None)
        {
            return refusal;
        }

        switch (opcode)
        {
            case SmmuOpcode.TLBI_NSNH_ALL:
                command = SmmuCommandBuilder.TlbiNhAll(vmid);
                return Refusal.None;
            case SmmuOpcode.TLBI_NH_VA:
            case SmmuOpcode.TLBI_NH_VAA:
                if (!RangeLegal(command, host))
                {
                    return Refusal.IllegalField;
                }

                command = command.WithVmid(vmid);
                return Refusal.None;
            case SmmuOpcode.TLBI_NH_ALL:
            case SmmuOpcode.TLBI_NH_ASID:
                command = command.WithVmid(vmid);
                return Refusal.None;
            case SmmuOpcode.ATC_INV:
                return AtcInvLegal(command, host) ? TranslateStreamId(ref command, context) : Refusal.IllegalField;
            case SmmuOpcode.CFGI_CD:
                return CfgiCdLegal(command, host) ? TranslateStreamId(ref command, context) : Refusal.IllegalField;
            default: // CFGI_CD_ALL, the last forwardable opcode
                return TranslateStreamId(ref command, context);
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

    private static Refusal TranslateStreamId(ref SmmuCommand command, IViommuContext context)
    {
        if (!context.TryFindDevice(command.StreamId, out var device))
        {
            return Refusal.UnknownStreamId;
        }

        command = command.WithStreamId(device.StreamId);
        return Refusal.None;
    }

    /// <summary>The range-TLBI rules of spec §4.4.1.1 against the host's IDR3.RIL and IDR5.DS.</summary>
    private static bool RangeLegal(in SmmuCommand command, in ProbedFeatures host) =>
        RangeInvalidation.IsLegal(command, host.RangeInvalidation, host.Ds);
}
