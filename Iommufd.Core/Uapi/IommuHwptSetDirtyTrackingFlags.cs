namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of IOMMU_HWPT_SET_DIRTY_TRACKING (enum iommufd_hwpt_set_dirty_tracking_flags).</summary>
[Flags]
public enum IommuHwptSetDirtyTrackingFlags : uint
{
    /// <summary>Turn dirty tracking off.</summary>
    None = 0,

    /// <summary>IOMMU_HWPT_DIRTY_TRACKING_ENABLE: turn dirty tracking on.</summary>
    Enable = 1,
}
