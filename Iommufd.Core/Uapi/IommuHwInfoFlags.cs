namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of IOMMU_GET_HW_INFO (enum iommufd_hw_info_flags).</summary>
[Flags]
public enum IommuHwInfoFlags : uint
{
    /// <summary>No flag: the driver reports its default data type.</summary>
    None = 0,

    /// <summary>IOMMU_HW_INFO_FLAG_INPUT_TYPE: <see cref="IommuHwInfo.DataType"/> is an input.</summary>
    InputType = 1 << 0,
}
