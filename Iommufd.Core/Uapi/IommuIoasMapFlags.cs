namespace Iommufd.Core.Uapi;

/// <summary>
/// The <c>flags</c> of IOMMU_IOAS_MAP, IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_COPY (enum iommufd_ioas_map_flags).
/// </summary>
[Flags]
public enum IommuIoasMapFlags : uint
{
    /// <summary>No flag: the kernel picks the IOVA and the mapping allows no DMA access.</summary>
    None = 0,

    /// <summary>IOMMU_IOAS_MAP_FIXED_IOVA: the caller chooses the IOVA.</summary>
    FixedIova = 1 << 0,

    /// <summary>IOMMU_IOAS_MAP_WRITEABLE: the device may write.</summary>
    Writeable = 1 << 1,

    /// <summary>IOMMU_IOAS_MAP_READABLE: the device may read.</summary>
    Readable = 1 << 2,
}
