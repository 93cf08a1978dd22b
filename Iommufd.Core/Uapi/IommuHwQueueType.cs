namespace Iommufd.Core.Uapi;

/// <summary>The <c>type</c> of IOMMU_HW_QUEUE_ALLOC (enum iommu_hw_queue_type).</summary>
public enum IommuHwQueueType : uint
{
    /// <summary>IOMMU_HW_QUEUE_TYPE_DEFAULT: reserved, rejected.</summary>
    Default = 0,

    /// <summary>IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV: a VCMDQ of the vIOMMU's VINTF.</summary>
    Tegra241Cmdqv = 1,

    /// <summary>
    /// IOMMU_HW_QUEUE_TYPE_SELFTEST: a mock queue; at most <see cref="SelftestConstants.HwQueueMax"/> per vIOMMU.
    /// </summary>
    Selftest = 0xdeadbeef,
}
