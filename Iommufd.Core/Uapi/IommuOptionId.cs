namespace Iommufd.Core.Uapi;

/// <summary>The <c>option_id</c> of IOMMU_OPTION (enum iommufd_option).</summary>
public enum IommuOptionId : uint
{
    /// <summary>IOMMU_OPTION_RLIMIT_MODE: how pinned pages are charged, per process or per user.</summary>
    RlimitMode = 0,

    /// <summary>IOMMU_OPTION_HUGE_PAGES: whether an IOAS may use huge pages.</summary>
    HugePages = 1,
}
