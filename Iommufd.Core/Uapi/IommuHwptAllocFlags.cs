namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of IOMMU_HWPT_ALLOC (enum iommufd_hwpt_alloc_flags).</summary>
[Flags]
public enum IommuHwptAllocFlags : uint
{
    /// <summary>No flag: a plain paging HWPT, or a nested one when a data type is given.</summary>
    None = 0,

    /// <summary>IOMMU_HWPT_ALLOC_NEST_PARENT: the paging HWPT may parent nested HWPTs and vIOMMUs.</summary>
    NestParent = 1 << 0,

    /// <summary>IOMMU_HWPT_ALLOC_DIRTY_TRACKING: enforce dirty tracking support.</summary>
    DirtyTracking = 1 << 1,

    /// <summary>IOMMU_HWPT_FAULT_ID_VALID: <see cref="IommuHwptAlloc.FaultId"/> names a fault queue.</summary>
    FaultIdValid = 1 << 2,

    /// <summary>IOMMU_HWPT_ALLOC_PASID: the HWPT may be attached to a PASID.</summary>
    AllocPasid = 1 << 3,
}
