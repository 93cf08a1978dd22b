using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_invalidate_selftest, one entry of IOMMU_HWPT_INVALIDATE (0x8d) on a mock nested HWPT, type
/// <see cref="IommuHwptInvalidateDataType.Selftest"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptInvalidateSelftest
{
    /// <summary>A combination of <see cref="IommuTestInvalidateFlags"/>.</summary>
    public uint Flags;

    /// <summary>The IOTLB slot to clear; ignored with <see cref="IommuTestInvalidateFlags.All"/>.</summary>
    public uint IotlbId;
}
