using System.Text;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;

namespace SmmuCmd;

/// <summary>
/// Judges entries against one queue's rules. The verdict always comes from the library code that enforces the
/// rule — <see cref="SmmuCommandLegality.CheckLegal"/>, <see cref="GuestCommandConverter.Validate"/> and
/// <see cref="HostFixup.GuestMayIssue"/> — so the tool cannot drift from the emulator; the reasons printed beside a
/// refusal are worked out here from the same features, with a generic reason if none applies.
/// </summary>
internal sealed class QueueChecker
{
    /// <summary>The VMID the trap path writes into stage-1 TLBIs: the S2 parent's, any non-zero value.</summary>
    private const ushort HostVmid = 1;

    private readonly ProbedFeatures _host;

    public QueueChecker(QueueKind kind, SmmuV3Features features)
    {
        Kind = kind;
        Features = features;
        _host = ProbedFeatures.From(features);
    }

    public QueueKind Kind { get; }

    private SmmuV3Features Features { get; }

    public Verdict Check(in SmmuCommand command) => Kind switch
    {
        QueueKind.Smmu => CheckSmmu(command),
        QueueKind.Trap => CheckTrap(command),
        _ => CheckVcmdq(command),
    };

    private Verdict CheckSmmu(in SmmuCommand command) =>
        SmmuCommandLegality.CheckLegal(command, Features) == CommandError.CERROR_NONE
            ? Verdict.Accept()
            : Verdict.Refuse("CERROR_ILL: " + SmmuReason(command));

    private Verdict CheckTrap(in SmmuCommand command)
    {
        var refusal = GuestCommandConverter.Validate(command, _host);
        if (refusal != GuestCommandConverter.Refusal.None)
        {
            return Verdict.Refuse("EIO: " + TrapReason(command, refusal));
        }

        // The ioctl takes it; say so if the host queue would still raise CERROR_ILL on what the host issues
        // (the host logs that and skips the command, and the guest is never told: arm-smmu-v3.c
        // arm_smmu_cmdq_skip_err()).
        SmmuCommand issued = command.Opcode switch
        {
            SmmuOpcode.TLBI_NSNH_ALL => SmmuCommandBuilder.TlbiNhAll(HostVmid),
            SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA =>
                command.WithVmid(Features.Stage2 ? HostVmid : (ushort)0),
            _ => command,
        };
        return SmmuCommandLegality.CheckLegal(issued, Features) == CommandError.CERROR_NONE
            ? Verdict.Accept()
            : Verdict.Accept("warning: the ioctl accepts it, but the host queue would raise CERROR_ILL on it: "
                + SmmuReason(issued) + "; the host replaces it with a CMD_SYNC and the guest is never told");
    }

    private Verdict CheckVcmdq(in SmmuCommand command)
    {
        SmmuOpcode opcode = command.Opcode;
        if (HostFixup.GuestMayIssue(opcode))
        {
            return CheckSmmu(command);
        }

        string reason = $"CERROR_ILL: {NameOf(opcode)} is not on a guest-owned VCMDQ's allow-list "
            + "(TLBI_NH_ASID, TLBI_NH_VA, ATC_INV, CMD_SYNC)";
        if (!HostFixup.Covers(opcode))
        {
            return Verdict.Refuse(reason);
        }

        var refusal = GuestCommandConverter.Validate(command, _host);
        return refusal == GuestCommandConverter.Refusal.None
            ? Verdict.Refuse(reason, hostRuns: true,
                note: "note: the host fix-up would run it through the trap path, and the guest sees it consumed")
            : Verdict.Refuse(reason,
                note: "note: the host fix-up takes this opcode but would refuse it too: " + TrapReason(command, refusal));
    }

    /// <summary>Why <see cref="SmmuCommandLegality.CheckLegal"/> answers CERROR_ILL (Arm IHI 0070 §4.1).</summary>
    private string SmmuReason(in SmmuCommand c)
    {
        var f = Features;
        SmmuOpcode op = c.Opcode;
        string name = NameOf(op);
        if (!SmmuCommandLayout.IsDefined(op))
        {
            return SmmuCommandLayout.IsImplementationDefined((byte)op)
                ? $"IMPLEMENTATION DEFINED opcode 0x{(byte)op:x2} is not implemented"
                : $"opcode 0x{(byte)op:x2} is Reserved";
        }

        if (c.SSec)
        {
            return "SSec = 1 on the Non-secure queue (spec §4.1.6)";
        }

        if (SmmuCommandLayout.HasReservedBitsSet(c, f.ArchMinorRevision))
        {
            return Res0Reason(c, f.ArchMinorRevision);
        }

        string? why = op switch
        {
            SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL when !f.Stage1 => $"{name} needs stage 1 (IDR0.S1P = 0)",
            SmmuOpcode.CFGI_VMS_PIDM when !f.Mpam => "CFGI_VMS_PIDM needs MPAM (IDR3.MPAM = 0)",
            SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA
                when !f.Stage1 => $"{name} needs stage 1 (IDR0.S1P = 0)",
            SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA
                when !f.Stage2 && c.Vmid != 0 => $"VMID = 0x{c.Vmid:x} must be 0 without stage 2 (IDR0.S2P = 0)",
            SmmuOpcode.TLBI_EL2_ALL or SmmuOpcode.TLBI_EL2_ASID or SmmuOpcode.TLBI_EL2_VA or SmmuOpcode.TLBI_EL2_VAA
                when !f.Hyp => $"{name} needs IDR0.HYP",
            SmmuOpcode.TLBI_S12_VMALL or SmmuOpcode.TLBI_S2_IPA when !f.Stage2 => $"{name} needs stage 2 (IDR0.S2P = 0)",
            SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA or SmmuOpcode.TLBI_EL2_VA or SmmuOpcode.TLBI_EL2_VAA
                or SmmuOpcode.TLBI_S2_IPA => RangeReason(c, f.RangeInvalidation, f.Ds, "this SMMU"),
            SmmuOpcode.ATC_INV when !f.Ats => "ATC_INV needs ATS (IDR0.ATS = 0)",
            SmmuOpcode.ATC_INV when c.AtcSize > 52 => $"ATC_INV Size = {c.AtcSize} is above 52",
            SmmuOpcode.PRI_RESP when !f.Pri => "PRI_RESP needs PRI (IDR0.PRI = 0)",
            SmmuOpcode.PRI_RESP when c.Resp == 3 => "PRI_RESP Resp = 3 is ILLEGAL",
            SmmuOpcode.RESUME or SmmuOpcode.STALL_TERM when f.StallModel == 1 =>
                $"{name} needs stalls (IDR0.STALL_MODEL = 0b01, no stall)",
            SmmuOpcode.CMD_SYNC when c.Cs == 3 => "CMD_SYNC CS = 3 is Reserved",
            SmmuOpcode.TLBI_EL3_ALL or SmmuOpcode.TLBI_EL3_VA or SmmuOpcode.TLBI_S_EL2_ALL or SmmuOpcode.TLBI_S_EL2_ASID
                or SmmuOpcode.TLBI_S_EL2_VA or SmmuOpcode.TLBI_S_EL2_VAA or SmmuOpcode.TLBI_S_S12_VMALL
                or SmmuOpcode.TLBI_S_S2_IPA or SmmuOpcode.TLBI_SNH_ALL => $"{name} is for the Secure queue only",
            SmmuOpcode.DPTI_ALL or SmmuOpcode.DPTI_PA => $"{name} needs IDR3.DPT, which this SMMU does not implement",
            _ => null,
        };
        return why ?? $"{name} is not legal on this SMMU";
    }

    /// <summary>Why <see cref="GuestCommandConverter.Validate"/> refused (arm-smmu-v3-iommufd.c
    /// arm_vsmmu_convert_user_cmd(), kept strict).</summary>
    private string TrapReason(in SmmuCommand c, GuestCommandConverter.Refusal refusal)
    {
        SmmuOpcode op = c.Opcode;
        switch (refusal)
        {
            case GuestCommandConverter.Refusal.OpcodeNotAllowed:
                string reason = $"{NameOf(op)} is not forwardable; IOMMU_HWPT_INVALIDATE takes only TLBI_NH_ALL, "
                    + "TLBI_NH_ASID, TLBI_NH_VA, TLBI_NH_VAA, TLBI_NSNH_ALL, ATC_INV, CFGI_CD and CFGI_CD_ALL";
                return op == SmmuOpcode.CMD_SYNC ? reason + " (the host appends its own CMD_SYNC)" : reason;
            case GuestCommandConverter.Refusal.ReservedBits:
                return c.SSec ? "SSec = 1 (spec §4.1.6)" : Res0Reason(c, _host.ArchMinorRevision);
            case GuestCommandConverter.Refusal.UnknownStreamId:
                return $"no vDEVICE has virtual StreamID 0x{c.StreamId:x}";
        }

        string? why = op switch
        {
            SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA =>
                RangeReason(c, _host.RangeInvalidation, _host.Ds, "the host SMMU"),
            SmmuOpcode.ATC_INV when !_host.Ats => "ATC_INV needs ATS, which the host SMMU lacks (IDR0.ATS = 0)",
            SmmuOpcode.ATC_INV when c.AtcSize > 52 => $"ATC_INV Size = {c.AtcSize} is above 52",
            SmmuOpcode.ATC_INV when _host.SsidBits == 0 && (c.SSV || c.Global) =>
                "ATC_INV SSV and Global need SubstreamIDs, which the host SMMU lacks (IDR1.SSIDSIZE = 0)",
            SmmuOpcode.CFGI_CD when c.SubstreamId >> _host.SsidBits != 0 =>
                $"CFGI_CD SSID = 0x{c.SubstreamId:x} does not fit the host's {_host.SsidBits}-bit SubstreamIDs",
            _ => null,
        };
        return why ?? $"a field value of {NameOf(op)} is not legal for the host SMMU";
    }

    /// <summary>
    /// Why <see cref="RangeInvalidation.IsLegal"/> refuses a TLBI by address (Arm IHI 0070 §4.4.1.1);
    /// <paramref name="who"/> names the SMMU whose IDR3.RIL and IDR5.DS apply.
    /// </summary>
    private static string? RangeReason(in SmmuCommand c, bool ril, bool ds, string who)
    {
        if (c.Tg == 0)
        {
            string nonZero = NonZero(c);
            return nonZero.Length == 0 ? null : $"{nonZero} must be 0 when TG = 0";
        }

        if (!ril)
        {
            return $"TG = {TgName(c.Tg)} needs range invalidation, which {who} lacks (IDR3.RIL = 0): "
                + "TG, TTL, NUM and SCALE are RES0";
        }

        if (!ds && c.Scale > 31)
        {
            return $"SCALE = {c.Scale} needs IDR5.DS; without it SCALE has five bits";
        }

        if (c.Num != 0 || c.Scale != 0 || RangeInvalidation.EffectiveTtl(c, ds) != 0)
        {
            return null;
        }

        return c.Ttl == 0
            ? "NUM = SCALE = TTL = 0 with TG != 0 is Reserved (spec §4.4.1.1)"
            : "NUM = SCALE = 0 with TTL = 1 on the 16K granule is Reserved without IDR5.DS, which treats that TTL "
                + "as 0 (spec §4.4.1.1)";
    }

    private static string NonZero(in SmmuCommand c)
    {
        var names = new List<string>(3);
        if (c.Ttl != 0)
        {
            names.Add($"TTL = {c.Ttl}");
        }

        if (c.Num != 0)
        {
            names.Add($"NUM = {c.Num}");
        }

        if (c.Scale != 0)
        {
            names.Add($"SCALE = {c.Scale}");
        }

        return string.Join(", ", names);
    }

    /// <summary>The reserved bits that are set, as runs numbered over the 128-bit entry (bit 64 is w1[0]).</summary>
    private static string Res0Reason(in SmmuCommand c, int archMinorRevision)
    {
        SmmuCommandLayout.DefinedMask(c.Opcode, out ulong m0, out ulong m1);
        UInt128 res0 = new(c.Word1 & ~m1, c.Word0 & ~m0);
        if (res0 == UInt128.Zero)
        {
            // Defined by the architecture, but not implemented here (SmmuCommandLayout.HasReservedBitsSet).
            return (c.Word1 & SmmuCommandLayout.W1_TTL128) != 0
                ? $"TTL128 is RES0 without 128-bit descriptors for {NameOf(c.Opcode)}"
                : $"address bits above the implemented size are RES0 on SMMUv3.{archMinorRevision} for {NameOf(c.Opcode)}";
        }

        var runs = new StringBuilder();
        for (int bit = 0; bit < 128; bit++)
        {
            if (((res0 >> bit) & UInt128.One) == UInt128.Zero)
            {
                continue;
            }

            int high = bit;
            while (high + 1 < 128 && ((res0 >> (high + 1)) & UInt128.One) != UInt128.Zero)
            {
                high++;
            }

            runs.Append(runs.Length == 0 ? "" : ", ").Append(high == bit ? $"[{bit}]" : $"[{high}:{bit}]");
            bit = high;
        }

        return $"RES0 bits {runs} are set for {NameOf(c.Opcode)}";
    }

    private static string TgName(byte tg) => tg switch { 1 => "4K", 2 => "16K", 3 => "64K", _ => "0" };

    private static string NameOf(SmmuOpcode opcode) =>
        SmmuCommandDecoder.GetName(opcode) ?? $"opcode 0x{(byte)opcode:x2}";
}
