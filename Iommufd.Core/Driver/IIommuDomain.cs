namespace Iommufd.Core.Driver;

/// <summary>A translation domain of one IOMMU instance (the kernel's <c>struct iommu_domain</c>).</summary>
public interface IIommuDomain
{
    /// <summary>The IOMMU instance the domain belongs to.</summary>
    IIommuInstance Iommu { get; }

    /// <summary>Frees the driver's state. Called once, when no device is attached any more.</summary>
    void Free();
}
