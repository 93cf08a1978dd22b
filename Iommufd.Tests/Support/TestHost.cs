using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Support;

/// <summary>A host with no IOMMU drivers: enough for IOAS, object-table and size-rule tests.</summary>
internal sealed class TestHost : IDisposable
{
    private readonly ServiceProvider _provider;

    public TestHost(Action<IommufdBuilder>? configure = null)
    {
        _provider = new ServiceCollection()
            .AddIommufd(b => configure?.Invoke(b))
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Host = _provider.GetRequiredService<IommufdHost>();
        Process = Host.CreateProcess();
        File = Host.Open(Process);
    }

    public IommufdHost Host { get; }

    public UserMemory Process { get; }

    public IommufdFile File { get; }

    public PhysicalMemory Physical => Host.Platform.Memory;

    public void Dispose()
    {
        File.Dispose();
        _provider.Dispose();
    }
}
