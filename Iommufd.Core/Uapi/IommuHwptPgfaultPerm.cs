namespace Iommufd.Core.Uapi;

/// <summary>The <c>perm</c> of <see cref="IommuHwptPgfault"/> (enum iommu_hwpt_pgfault_perm).</summary>
[Flags]
public enum IommuHwptPgfaultPerm : uint
{
    /// <summary>No access named.</summary>
    None = 0,

    /// <summary>IOMMU_PGFAULT_PERM_READ.</summary>
    Read = 1 << 0,

    /// <summary>IOMMU_PGFAULT_PERM_WRITE.</summary>
    Write = 1 << 1,

    /// <summary>IOMMU_PGFAULT_PERM_EXEC.</summary>
    Exec = 1 << 2,

    /// <summary>IOMMU_PGFAULT_PERM_PRIV.</summary>
    Priv = 1 << 3,
}
