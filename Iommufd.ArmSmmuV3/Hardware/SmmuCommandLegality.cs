namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Which commands an SMMUv3 with given features answers with CERROR_ILL on its Non-secure command queue, and why: the
/// rule the emulated SMMU applies before it executes a command, public so that tools judge entries by the same code.
/// </summary>
public static class SmmuCommandLegality
{
    /// <summary>
    /// CERROR_ILL for commands this implementation must refuse (Arm IHI 0070 §4.1 and each command's section): opcodes
    /// that do not apply to the configured features, Secure commands and SSec on the Non-secure queue, non-zero
    /// reserved fields, reserved field values and the reserved range-TLBI encoding; otherwise CERROR_NONE.
    /// </summary>
    /// <param name="command">The command-queue entry.</param>
    /// <param name="features">What the SMMU implements (its ID registers).</param>
    /// <returns><see cref="CommandError.CERROR_ILL"/> or <see cref="CommandError.CERROR_NONE"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="features"/> is null.</exception>
    public static CommandError CheckLegal(in SmmuCommand command, SmmuV3Features features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var f = features;
        if (!SmmuCommandLayout.IsDefined(command.Opcode) || SmmuCommandLayout.HasReservedBitsSet(command, f.ArchMinorRevision) || command.SSec)
        {
            return CommandError.CERROR_ILL;
        }

        bool legal = command.Opcode switch
        {
            SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL => f.Stage1,
            SmmuOpcode.CFGI_VMS_PIDM => f.Mpam,
            SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID => f.Stage1 && (f.Stage2 || command.Vmid == 0),
            SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA => f.Stage1 && (f.Stage2 || command.Vmid == 0) && RangeLegal(command, f),
            SmmuOpcode.TLBI_EL2_ALL or SmmuOpcode.TLBI_EL2_ASID => f.Hyp,
            SmmuOpcode.TLBI_EL2_VA or SmmuOpcode.TLBI_EL2_VAA => f.Hyp && RangeLegal(command, f),
            SmmuOpcode.TLBI_S12_VMALL => f.Stage2,
            SmmuOpcode.TLBI_S2_IPA => f.Stage2 && RangeLegal(command, f),
            SmmuOpcode.ATC_INV => f.Ats && command.AtcSize <= 52,
            SmmuOpcode.PRI_RESP => f.Pri && command.Resp != 3,
            SmmuOpcode.RESUME or SmmuOpcode.STALL_TERM => f.StallModel != 1,
            SmmuOpcode.CMD_SYNC => command.Cs != 3,
            SmmuOpcode.PREFETCH_CONFIG or SmmuOpcode.PREFETCH_ADDR or SmmuOpcode.CFGI_STE or SmmuOpcode.CFGI_STE_RANGE
                or SmmuOpcode.TLBI_NSNH_ALL => true,
            _ => false, // EL3 and Secure TLBIs, TLBI_SNH_ALL, DPTI: not on the Non-secure queue of this SMMU
        };
        return legal ? CommandError.CERROR_NONE : CommandError.CERROR_ILL;
    }

    /// <summary>
    /// Why <see cref="CheckLegal"/> answers CERROR_ILL for <paramref name="c"/>, in words that name the field and the ID
    /// register (Arm IHI 0070 §4.1 and the command's section): the account behind the one error code.
    /// </summary>
    /// <param name="c">A command <see cref="CheckLegal"/> refuses.</param>
    /// <param name="features">What the SMMU implements.</param>
    /// <returns>The reason; a generic one when the command is legal.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="features"/> is null.</exception>
    public static string Describe(in SmmuCommand c, SmmuV3Features features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var f = features;
        SmmuOpcode op = c.Opcode;
        string name = CommandRefusalText.NameOf(op);
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
            return CommandRefusalText.Res0Reason(c, f.ArchMinorRevision);
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
                or SmmuOpcode.TLBI_S2_IPA => CommandRefusalText.RangeReason(c, f.RangeInvalidation, f.Ds, "this SMMU"),
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

    private static bool RangeLegal(in SmmuCommand command, SmmuV3Features f) =>
        RangeInvalidation.IsLegal(command, f.RangeInvalidation, f.Ds);
}
