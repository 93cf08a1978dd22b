using System.Diagnostics.CodeAnalysis;

namespace Iommufd.Core.Uapi;

/// <summary>The data type of IOMMU_GET_HW_INFO (enum iommu_hw_info_type).</summary>
[SuppressMessage("Design", "CA1069:Enums values should not be duplicated",
    Justification = "The kernel gives IOMMU_HW_INFO_TYPE_NONE and IOMMU_HW_INFO_TYPE_DEFAULT the same value.")]
public enum IommuHwInfoType : uint
{
    /// <summary>IOMMU_HW_INFO_TYPE_NONE: no driver data.</summary>
    None = 0,

    /// <summary>
    /// IOMMU_HW_INFO_TYPE_DEFAULT: same value as <see cref="None"/>; as an input it asks for the native type.
    /// </summary>
    Default = 0,

    /// <summary>IOMMU_HW_INFO_TYPE_INTEL_VTD: <see cref="IommuHwInfoVtd"/>.</summary>
    IntelVtd = 1,

    /// <summary>IOMMU_HW_INFO_TYPE_ARM_SMMUV3: <see cref="IommuHwInfoArmSmmuV3"/>.</summary>
    ArmSmmuV3 = 2,

    /// <summary>IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: <see cref="IommuHwInfoTegra241Cmdqv"/>.</summary>
    Tegra241Cmdqv = 3,

    /// <summary>
    /// IOMMU_HW_INFO_TYPE_AMD. Unverified: seen in posted patches and QEMU, not confirmed in a mainline header.
    /// </summary>
    Amd = 4,

    /// <summary>IOMMU_HW_INFO_TYPE_SELFTEST: <see cref="IommuTestHwInfo"/>.</summary>
    Selftest = 0xfeedbeef,
}
