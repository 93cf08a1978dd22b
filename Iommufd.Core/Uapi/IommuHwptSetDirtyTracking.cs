using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hwpt_set_dirty_tracking, the argument of IOMMU_HWPT_SET_DIRTY_TRACKING (0x8b).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptSetDirtyTracking
{
    public uint Size;

    /// <summary>A combination of <see cref="IommuHwptSetDirtyTrackingFlags"/>.</summary>
    public uint Flags;

    public uint HwptId;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
