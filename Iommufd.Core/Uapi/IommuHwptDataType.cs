namespace Iommufd.Core.Uapi;

/// <summary>The <c>data_type</c> of IOMMU_HWPT_ALLOC (enum iommu_hwpt_data_type).</summary>
public enum IommuHwptDataType : uint
{
    /// <summary>IOMMU_HWPT_DATA_NONE: no driver data.</summary>
    None = 0,

    /// <summary>IOMMU_HWPT_DATA_VTD_S1: <see cref="IommuHwptVtdS1"/>.</summary>
    VtdS1 = 1,

    /// <summary>IOMMU_HWPT_DATA_ARM_SMMUV3: <see cref="IommuHwptArmSmmuV3"/>.</summary>
    ArmSmmuV3 = 2,

    /// <summary>IOMMU_HWPT_DATA_SELFTEST: <see cref="IommuHwptSelftest"/>.</summary>
    Selftest = 0xdead,
}
