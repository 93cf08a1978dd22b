using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Cmdqv;

/// <summary>Which guest commands the host fix-up (<see cref="CmdqvOptions.HostFixup"/>) runs for a guest VCMDQ.</summary>
public static class HostFixup
{
    /// <summary>
    /// True for what the trap path can run but a guest-owned VCMDQ refuses: TLBI_NH_ALL, TLBI_NH_VAA,
    /// TLBI_NSNH_ALL, CFGI_CD and CFGI_CD_ALL.
    /// </summary>
    public static bool Covers(SmmuOpcode opcode) =>
        GuestCommandConverter.IsForwardable(opcode) && !Vcmdq.GuestMayIssue(opcode);
}
