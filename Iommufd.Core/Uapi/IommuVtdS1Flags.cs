namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of <see cref="IommuHwptVtdS1"/> (enum iommu_hwpt_vtd_s1_flags).</summary>
[Flags]
public enum IommuVtdS1Flags : ulong
{
    /// <summary>No attribute.</summary>
    None = 0,

    /// <summary>IOMMU_VTD_S1_SRE: supervisor requests.</summary>
    Sre = 1 << 0,

    /// <summary>IOMMU_VTD_S1_EAFE: extended access flag.</summary>
    Eafe = 1 << 1,

    /// <summary>IOMMU_VTD_S1_WPE: write protect.</summary>
    Wpe = 1 << 2,
}
