using System.Diagnostics.CodeAnalysis;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Microsoft.Extensions.Options;

namespace Iommufd.MockDriver;

/// <summary>
/// The mock driver plugin: one <see cref="MockIommu"/> per configured instance name. The platform asks every
/// registered <see cref="IIommuDriver"/> for its instances and probes the configured devices on them.
/// </summary>
[SuppressMessage("Performance", "CA1812:Avoid uninstantiated internal classes", Justification = "Created by dependency injection.")]
internal sealed class MockIommuDriver : IIommuDriver
{
    public MockIommuDriver(PhysicalMemory memory, IOptions<MockIommuOptions> options, FailNth? faults = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Value.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(MockIommuOptions), typeof(MockIommuOptions), errors);
        }

        Instances = [.. options.Value.EffectiveInstanceNames.Select(name => new MockIommu(name, memory, faults))];
    }

    public string Name => "mock";

    public IReadOnlyList<IIommuInstance> Instances { get; }
}
