namespace Iommufd.Core.Uapi;

/// <summary>The <c>data_type</c> of IOMMU_HWPT_INVALIDATE (enum iommu_hwpt_invalidate_data_type).</summary>
public enum IommuHwptInvalidateDataType : uint
{
    /// <summary>
    /// IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: <see cref="IommuHwptVtdS1Invalidate"/> entries, on a nested HWPT.
    /// </summary>
    VtdS1 = 0,

    /// <summary>
    /// IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: <see cref="IommuViommuArmSmmuV3Invalidate"/> entries, on a vIOMMU only.
    /// </summary>
    ViommuArmSmmuV3 = 1,

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE_DATA_SELFTEST (<see cref="IommuHwptInvalidateSelftest"/> entries, on a nested HWPT) and
    /// IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST (<see cref="IommuViommuInvalidateSelftest"/> entries, on a vIOMMU), which
    /// share this value.
    /// </summary>
    Selftest = 0xdeadbeef,

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID and IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID: a type the mock
    /// always rejects.
    /// </summary>
    SelftestInvalid = 0xdadbeef,
}
