namespace Iommufd.Vmm;

/// <summary>The three ways a guest's invalidations reach the SMMU: the main job, the benchmarks and the tests run each.</summary>
public enum InvalidationPath
{
    /// <summary>Through the emulated vSMMU queue: trapped, forwarded with IOMMU_HWPT_INVALIDATE, run on the host's main queue.</summary>
    Trap,

    /// <summary>TLBIs and ATC invalidations straight into a VCMDQ of the CMDQV hardware (no trap); configuration through the vSMMU.</summary>
    HardwareVcmdq,

    /// <summary>The same guest VCMDQ, backed by the software VCMDQ (a host worker) where there is no CMDQV hardware.</summary>
    SoftwareVcmdq,
}
