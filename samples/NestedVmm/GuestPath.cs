namespace NestedVmm;

/// <summary>How the guest's invalidations reach the SMMU.</summary>
public enum GuestPath
{
    /// <summary>Through the emulated vSMMU queue: trapped, forwarded with IOMMU_HWPT_INVALIDATE.</summary>
    Trap,

    /// <summary>TLBIs and ATC invalidations straight into a hardware VCMDQ; configuration through the vSMMU.</summary>
    HardwareVcmdq,

    /// <summary>The same guest, with the VCMDQ backed by the software VCMDQ (a host worker).</summary>
    SoftwareVcmdq,
}
