using Iommufd.Core.Devices;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Core.DependencyInjection;

/// <summary>Configures the emulated machine: driver plugins add themselves, devices are listed here.</summary>
public sealed class IommufdBuilder
{
    internal IommufdBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection, for plugin builder extensions.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adds an endpoint device behind the IOMMU instance named <paramref name="iommu"/>.</summary>
    public IommufdBuilder AddDevice(string name, string iommu, uint streamId, bool atsCapable = false)
    {
        Services.Configure<PlatformOptions>(o => o.Devices.Add(new DeviceOptions
        {
            Name = name,
            Iommu = iommu,
            StreamId = streamId,
            AtsCapable = atsCapable,
        }));
        return this;
    }
}
