namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Which commands an SMMUv3 with given features answers with CERROR_ILL on its Non-secure command queue: the rule
/// the emulated SMMU applies before it executes a command, public so that tools judge entries by the same code.
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

    private static bool RangeLegal(in SmmuCommand command, SmmuV3Features f) =>
        RangeInvalidation.IsLegal(command, f.RangeInvalidation, f.Ds);
}
