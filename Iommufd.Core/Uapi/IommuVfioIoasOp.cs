namespace Iommufd.Core.Uapi;

/// <summary>The <c>op</c> of IOMMU_VFIO_IOAS (enum iommufd_vfio_ioas_op).</summary>
public enum IommuVfioIoasOp : ushort
{
    /// <summary>IOMMU_VFIO_IOAS_GET: report the IOAS the VFIO compatibility layer uses.</summary>
    Get = 0,

    /// <summary>IOMMU_VFIO_IOAS_SET: choose that IOAS.</summary>
    Set = 1,

    /// <summary>IOMMU_VFIO_IOAS_CLEAR: forget it.</summary>
    Clear = 2,
}
