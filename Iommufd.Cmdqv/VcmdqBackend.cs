namespace Iommufd.Cmdqv;

/// <summary>What backs a guest's VCMDQs.</summary>
public enum VcmdqBackend
{
    /// <summary>The CMDQV hardware when the platform has it, else the software VCMDQ.</summary>
    Auto,

    /// <summary>Hardware VCMDQs: the guest's PROD write reaches the CMDQV directly.</summary>
    Hardware,

    /// <summary>Software VCMDQs: a PROD write wakes a host worker that runs the trap path's conversion.</summary>
    Software,
}
