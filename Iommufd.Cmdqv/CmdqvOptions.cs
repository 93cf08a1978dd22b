using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Cmdqv;

/// <summary>The Tegra241 CMDQV of one SMMUv3 and how the driver uses it.</summary>
public sealed class CmdqvOptions
{
    /// <summary>The SMMUv3 instance the CMDQV sits beside.</summary>
    public string Smmu { get; set; } = "smmu0";

    /// <summary>True when the platform has CMDQV hardware beside that SMMU.</summary>
    public bool HardwarePresent { get; set; } = true;

    /// <summary>Hardware, software or automatic choice of the guest VCMDQ backend.</summary>
    public VcmdqBackend Backend { get; set; } = VcmdqBackend.Auto;

    /// <summary>VINTF, VCMDQ and SID-pair counts (PARAM).</summary>
    public CmdqvFeatures Features { get; set; } = new();

    /// <summary>
    /// Let the host run, for a guest, the commands a guest-owned VCMDQ cannot take but the trap path can
    /// (TLBI_NH_ALL, TLBI_NH_VAA, TLBI_NSNH_ALL, CFGI_CD, CFGI_CD_ALL); the guest then sees normal consumption.
    /// </summary>
    public bool HostFixup { get; set; } = true;

    /// <summary>
    /// Host invalidations use VINTF0's queues. False models a driver that reads HYP_OWN back as 0 (as inside a
    /// guest), so only TLBI_NH_ASID, TLBI_NH_VA and ATC_INV may go there, and only when VINTF0's VMID and SID
    /// replacement leaves them unchanged; the rest falls back to the main queue.
    /// </summary>
    public bool HostVintfHypOwn { get; set; } = true;

    /// <summary>Send no host invalidation to VINTF0 (the kernel's bypass_vcmdq knob).</summary>
    public bool BypassHostVcmdq { get; set; }

    /// <summary>
    /// How long the software VCMDQ's idle host worker polls its queues before it parks (threaded hardware only). While
    /// it polls, a guest's PROD write costs one cross-thread hand-off and no wake-up (a side core); it yields the core
    /// as it polls, so it never starves the vCPUs on a machine with fewer cores than threads. Zero: park at once.
    /// </summary>
    public TimeSpan SoftwareWorkerSpin { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The backend in effect.</summary>
    public VcmdqBackend EffectiveBackend => Backend switch
    {
        VcmdqBackend.Auto => HardwarePresent ? VcmdqBackend.Hardware : VcmdqBackend.Software,
        _ => Backend,
    };

    /// <summary>Checks the options, with their <see cref="Features"/>; returns the problems found.</summary>
    public List<string> Validate()
    {
        var errors = Features.Validate();
        if (Backend == VcmdqBackend.Hardware && !HardwarePresent)
        {
            errors.Add($"CMDQV beside '{Smmu}': the hardware backend needs CMDQV hardware (HardwarePresent)");
        }

        if (SoftwareWorkerSpin < TimeSpan.Zero || SoftwareWorkerSpin > TimeSpan.FromSeconds(1))
        {
            errors.Add($"CMDQV beside '{Smmu}': SoftwareWorkerSpin must be between 0 and 1 s");
        }

        if (Features.Vintfs < 2)
        {
            errors.Add("at least two VINTFs are needed: VINTF0 is the host's");
        }

        return errors;
    }
}
