namespace Iommufd.Core.Driver;

/// <summary>A nested domain: a guest stage-1 configuration on top of a nest-parent paging domain.</summary>
public interface INestedDomain : IIommuDomain
{
    /// <summary>The vIOMMU the domain was allocated from, or null for the older parent-only path.</summary>
    IViommu? Viommu { get; }
}
