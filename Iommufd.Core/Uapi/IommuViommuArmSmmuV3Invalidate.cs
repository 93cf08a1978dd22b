using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_viommu_arm_smmuv3_invalidate, one entry of IOMMU_HWPT_INVALIDATE (0x8d) for
/// <see cref="IommuHwptInvalidateDataType.ViommuArmSmmuV3"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuViommuArmSmmuV3Invalidate
{
    /// <summary>One raw 128-bit SMMUv3 command-queue entry (cmd[2]), little-endian.</summary>
    public UInt64x2 Cmd;
}
