using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hw_info_arm_smmuv3, the data IOMMU_GET_HW_INFO (0x8a) returns for
/// <see cref="IommuHwInfoType.ArmSmmuV3"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwInfoArmSmmuV3
{
    /// <summary>Always 0.</summary>
    public uint Flags;

    /// <summary><c>__reserved</c>: always 0.</summary>
    public uint Reserved;

    /// <summary>Raw values of IDR0 to IDR5 (idr[6]).</summary>
    public UInt32x6 Idr;

    /// <summary>Raw value of IIDR.</summary>
    public uint Iidr;

    /// <summary>Raw value of AIDR.</summary>
    public uint Aidr;
}
