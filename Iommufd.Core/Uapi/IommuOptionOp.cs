namespace Iommufd.Core.Uapi;

/// <summary>The <c>op</c> of IOMMU_OPTION (enum iommufd_option_ops).</summary>
public enum IommuOptionOp : ushort
{
    /// <summary>IOMMU_OPTION_OP_SET.</summary>
    Set = 0,

    /// <summary>IOMMU_OPTION_OP_GET.</summary>
    Get = 1,
}
