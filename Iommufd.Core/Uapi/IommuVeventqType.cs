namespace Iommufd.Core.Uapi;

/// <summary>The <c>type</c> of IOMMU_VEVENTQ_ALLOC (enum iommu_veventq_type).</summary>
public enum IommuVeventqType : uint
{
    /// <summary>IOMMU_VEVENTQ_TYPE_DEFAULT: reserved, rejected.</summary>
    Default = 0,

    /// <summary>IOMMU_VEVENTQ_TYPE_ARM_SMMUV3: <see cref="IommuVeventArmSmmuV3"/> payloads.</summary>
    ArmSmmuV3 = 1,

    /// <summary>IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV: <see cref="IommuVeventTegra241Cmdqv"/> payloads.</summary>
    Tegra241Cmdqv = 2,

    /// <summary>IOMMU_VEVENTQ_TYPE_SELFTEST: <see cref="IommuViommuEventSelftest"/> payloads.</summary>
    Selftest = 0xbeefbeef,
}
