using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iommufd.MockDriver;

/// <summary>
/// Adds the mock IOMMU driver to an emulated platform:
/// <c>services.AddIommufd(b => b.AddMockIommu().AddDevice("dev0", "mock0", streamId: 0x10))</c>.
/// </summary>
public static class MockDriverBuilderExtensions
{
    /// <summary>
    /// Registers the mock driver (once, however often this is called) and adds a mock IOMMU instance named
    /// <paramref name="name"/>. Call it again with another name for a second instance.
    /// </summary>
    public static IommufdBuilder AddMockIommu(this IommufdBuilder builder, string name = MockIommuOptions.DefaultInstanceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        // TryAddEnumerable: the platform enumerates every IIommuDriver, and each plugin must appear once even when
        // its builder extension runs several times.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IIommuDriver, MockIommuDriver>());
        builder.Services.TryAddSingleton<ISelftestCommands, MockSelftest>(); // IOMMU_TEST_CMD, as CONFIG_IOMMUFD_TEST
        builder.Services.AddOptions<MockIommuOptions>().Configure(o =>
        {
            if (!o.InstanceNames.Contains(name))
            {
                o.InstanceNames.Add(name);
            }
        });
        return builder;
    }
}
