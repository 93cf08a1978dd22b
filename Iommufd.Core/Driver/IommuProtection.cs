namespace Iommufd.Core.Driver;

/// <summary>Access rights of a mapping (the kernel's <c>IOMMU_READ</c>/<c>IOMMU_WRITE</c>).</summary>
[Flags]
public enum IommuProtection
{
    /// <summary>No access: DMA through the mapping faults.</summary>
    None = 0,
    /// <summary>IOMMU_READ: the device may read the memory.</summary>
    Read = 1,
    /// <summary>IOMMU_WRITE: the device may write the memory.</summary>
    Write = 2,
}
