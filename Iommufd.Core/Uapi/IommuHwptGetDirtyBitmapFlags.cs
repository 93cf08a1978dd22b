namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of IOMMU_HWPT_GET_DIRTY_BITMAP (enum iommufd_hwpt_get_dirty_bitmap_flags).</summary>
[Flags]
public enum IommuHwptGetDirtyBitmapFlags : uint
{
    /// <summary>No flag: the dirty bits read are cleared.</summary>
    None = 0,

    /// <summary>IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: read the dirty bits without clearing them.</summary>
    NoClear = 1,
}
