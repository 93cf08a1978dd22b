namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of <see cref="IommuHwInfoVtd"/> (enum iommu_hw_info_vtd_flags).</summary>
[Flags]
public enum IommuHwInfoVtdFlags : uint
{
    /// <summary>No erratum flagged.</summary>
    None = 0,

    /// <summary>IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: do not use read-only mappings on a nest parent.</summary>
    Errata772415Spr17 = 1 << 0,
}
