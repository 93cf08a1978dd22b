namespace Iommufd.Core.Driver;

/// <summary>
/// A driver plugin, registered in DI by its builder extension with <c>TryAddEnumerable</c>. It owns the IOMMU
/// instances of its kind that the platform options ask for.
/// </summary>
public interface IIommuDriver
{
    /// <summary>The driver's name (for logs and diagnostics).</summary>
    string Name { get; }

    /// <summary>The IOMMU instances this driver probed.</summary>
    IReadOnlyList<IIommuInstance> Instances { get; }
}
