namespace SmmuCmd;

/// <summary>The queue whose rules <c>smmucmd check</c> applies.</summary>
internal enum QueueKind
{
    /// <summary>The emulated SMMUv3's own command queue: what it answers with CERROR_ILL.</summary>
    Smmu,

    /// <summary>The host's IOMMU_HWPT_INVALIDATE path for a vIOMMU: what it refuses with EIO.</summary>
    Trap,

    /// <summary>A guest-owned Tegra241 VCMDQ: its allow-list, then the SMMU's own legality.</summary>
    Vcmdq,
}
