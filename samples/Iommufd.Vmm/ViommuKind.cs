namespace Iommufd.Vmm;

/// <summary>Which vIOMMU the VMM gives the guest.</summary>
public enum ViommuKind
{
    /// <summary>An emulated SMMUv3 only: every invalidation is trapped and forwarded with IOMMU_HWPT_INVALIDATE.</summary>
    SmmuV3,

    /// <summary>An SMMUv3 plus a Tegra241 CMDQV whose VCMDQs the guest drives directly.</summary>
    SmmuV3WithCmdqv,
}
