using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Cmdqv;

/// <summary>
/// Which guest commands a guest-owned VCMDQ executes itself, and which of the others the host fix-up
/// (<see cref="CmdqvOptions.HostFixup"/>) runs for it.
/// </summary>
public static class HostFixup
{
    /// <summary>
    /// True for the commands a guest-owned VINTF's queues execute (tegra241-cmdqv.c
    /// tegra241_guest_vcmdq_supports_cmd()): TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and CMD_SYNC. Any other command stops
    /// the queue with CERROR_ILL unless the host fix-up is on and <see cref="Covers"/> it.
    /// </summary>
    /// <param name="opcode">The command's opcode.</param>
    public static bool GuestMayIssue(SmmuOpcode opcode) => Vcmdq.GuestMayIssue(opcode);

    /// <summary>
    /// True for what the trap path can run but a guest-owned VCMDQ refuses: TLBI_NH_ALL, TLBI_NH_VAA,
    /// TLBI_NSNH_ALL, CFGI_CD and CFGI_CD_ALL.
    /// </summary>
    /// <param name="opcode">The command's opcode.</param>
    public static bool Covers(SmmuOpcode opcode) =>
        GuestCommandConverter.IsForwardable(opcode) && !Vcmdq.GuestMayIssue(opcode);
}
