namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of <see cref="IommuHwptPgfault"/> (enum iommu_hwpt_pgfault_flags).</summary>
[Flags]
public enum IommuHwptPgfaultFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>IOMMU_PGFAULT_FLAGS_PASID_VALID: <see cref="IommuHwptPgfault.Pasid"/> is valid.</summary>
    PasidValid = 1 << 0,

    /// <summary>IOMMU_PGFAULT_FLAGS_LAST_PAGE: the last fault of its group; the group wants a response.</summary>
    LastPage = 1 << 1,
}
