using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;

namespace SmmuCmd;

/// <summary>
/// Judges entries against one queue's rules. The verdict always comes from the library code that enforces the
/// rule — <see cref="SmmuCommandLegality.CheckLegal"/>, <see cref="GuestCommandConverter.Validate"/> and
/// <see cref="HostFixup.GuestMayIssue"/> — so the tool cannot drift from the emulator, and so do the reasons printed
/// beside a refusal (<see cref="SmmuCommandLegality.Describe"/>, <see cref="GuestCommandConverter.Describe"/>, which the
/// errno trace of IOMMU_HWPT_INVALIDATE prints too).
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
            : Verdict.Refuse("CERROR_ILL: " + SmmuCommandLegality.Describe(command, Features));

    private Verdict CheckTrap(in SmmuCommand command)
    {
        var refusal = GuestCommandConverter.Validate(command, _host);
        if (refusal != GuestCommandConverter.Refusal.None)
        {
            return Verdict.Refuse("EIO: " + GuestCommandConverter.Describe(refusal, command, _host));
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
                + SmmuCommandLegality.Describe(issued, Features) + "; the host replaces it with a CMD_SYNC and the guest is never told");
    }

    private Verdict CheckVcmdq(in SmmuCommand command)
    {
        SmmuOpcode opcode = command.Opcode;
        if (HostFixup.GuestMayIssue(opcode))
        {
            return CheckSmmu(command);
        }

        string reason = $"CERROR_ILL: {SmmuCommandDecoder.GetName(opcode) ?? $"opcode 0x{(byte)opcode:x2}"} is not on a guest-owned VCMDQ's allow-list "
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
                note: "note: the host fix-up takes this opcode but would refuse it too: " + GuestCommandConverter.Describe(refusal, command, _host));
    }
}
