namespace Iommufd.MockDriver;

/// <summary>
/// Options of the mock IOMMU driver: the names of the mock IOMMU instances the emulated platform has. Devices name
/// the instance they sit behind (<c>AddDevice("dev0", "mock0", …)</c>).
/// </summary>
/// <remarks>
/// <see cref="MockDriverBuilderExtensions.AddMockIommu"/> adds one name per call. A configuration that ends up with no
/// name at all gets the single instance <see cref="DefaultInstanceName"/>, so the driver always has an IOMMU to
/// probe devices on. Names must be non-blank and unique; the driver checks this when it is first resolved.
/// </remarks>
public sealed class MockIommuOptions
{
    /// <summary>The name of the instance a configuration without names gets, and the default of AddMockIommu.</summary>
    public const string DefaultInstanceName = "mock0";

    /// <summary>The names of the mock IOMMU instances, in probe order.</summary>
    public IList<string> InstanceNames { get; } = new List<string>();

    /// <summary>The names the driver instantiates: <see cref="InstanceNames"/>, or the default when it is empty.</summary>
    internal IReadOnlyList<string> EffectiveInstanceNames =>
        InstanceNames.Count == 0 ? [DefaultInstanceName] : [.. InstanceNames];

    /// <summary>Returns the problems with the options (empty when they are valid).</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in EffectiveInstanceNames)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add("a mock IOMMU instance has no name");
            }
            else if (!seen.Add(name))
            {
                errors.Add($"mock IOMMU instance name '{name}' is used twice");
            }
        }

        return errors;
    }
}
