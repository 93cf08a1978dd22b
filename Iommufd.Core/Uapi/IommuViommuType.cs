namespace Iommufd.Core.Uapi;

/// <summary>The <c>type</c> of IOMMU_VIOMMU_ALLOC (enum iommu_viommu_type).</summary>
public enum IommuViommuType : uint
{
    /// <summary>IOMMU_VIOMMU_TYPE_DEFAULT: reserved, rejected.</summary>
    Default = 0,

    /// <summary>IOMMU_VIOMMU_TYPE_ARM_SMMUV3: no driver data.</summary>
    ArmSmmuV3 = 1,

    /// <summary>IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV: <see cref="IommuViommuTegra241Cmdqv"/>.</summary>
    Tegra241Cmdqv = 2,

    /// <summary>IOMMU_VIOMMU_TYPE_SELFTEST: <see cref="IommuViommuSelftest"/>.</summary>
    Selftest = 0xdeadbeef,
}
