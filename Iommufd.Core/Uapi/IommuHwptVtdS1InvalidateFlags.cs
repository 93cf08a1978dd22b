namespace Iommufd.Core.Uapi;

/// <summary>
/// The <c>flags</c> of <see cref="IommuHwptVtdS1Invalidate"/> (enum iommu_hwpt_vtd_s1_invalidate_flags).
/// </summary>
[Flags]
public enum IommuHwptVtdS1InvalidateFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed.</summary>
    Leaf = 1 << 0,
}
