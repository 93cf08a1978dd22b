using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hwpt_set_dirty_tracking, the argument of IOMMU_HWPT_SET_DIRTY_TRACKING (0x8b).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptSetDirtyTracking
{
    /// <summary>
    /// <c>size</c> of struct iommu_hwpt_set_dirty_tracking: the caller's sizeof, which IOMMU_HWPT_SET_DIRTY_TRACKING
    /// copies in; bytes past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A combination of <see cref="IommuHwptSetDirtyTrackingFlags"/>.</summary>
    public uint Flags;

    /// <summary>
    /// <c>hwpt_id</c>: the paging HWPT, allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING, to start or stop tracking on.
    /// </summary>
    public uint HwptId;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
