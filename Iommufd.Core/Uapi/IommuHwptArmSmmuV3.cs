using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_arm_smmuv3, the driver data of IOMMU_HWPT_ALLOC (0x89) for
/// <see cref="IommuHwptDataType.ArmSmmuV3"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptArmSmmuV3
{
    /// <summary>The first two 64-bit words of the guest STE (ste[2]), little-endian.</summary>
    public UInt64x2 Ste;
}
