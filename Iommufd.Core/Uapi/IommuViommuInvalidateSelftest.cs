using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_viommu_invalidate_selftest, one entry of IOMMU_HWPT_INVALIDATE (0x8d) on a mock vIOMMU, type
/// <see cref="IommuHwptInvalidateDataType.Selftest"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuViommuInvalidateSelftest
{
    /// <summary>A combination of <see cref="IommuTestInvalidateFlags"/>.</summary>
    public uint Flags;

    /// <summary>The virtual ID of the device whose cache is invalidated.</summary>
    public uint VdevId;

    /// <summary>The cache slot to clear; ignored with <see cref="IommuTestInvalidateFlags.All"/>.</summary>
    public uint CacheId;
}
