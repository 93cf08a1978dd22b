namespace Iommufd.Core.Driver;

/// <summary>Access rights of a mapping (the kernel's <c>IOMMU_READ</c>/<c>IOMMU_WRITE</c>).</summary>
[Flags]
public enum IommuProtection
{
    None = 0,
    Read = 1,
    Write = 2,
}
