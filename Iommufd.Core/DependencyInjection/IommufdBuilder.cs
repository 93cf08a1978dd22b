using Iommufd.Core.Devices;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Core.DependencyInjection;

/// <summary>Configures the emulated machine: driver plugins add themselves, devices are listed here.</summary>
public sealed class IommufdBuilder
{
    internal IommufdBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection, for plugin builder extensions.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Adds an endpoint device behind the IOMMU instance named <paramref name="iommu"/>; <paramref name="pasidBits"/>
    /// is its PASID capability's width (0: none).
    /// </summary>
    public IommufdBuilder AddDevice(string name, string iommu, uint streamId, bool atsCapable = false, int pasidBits = 0)
    {
        Services.Configure<PlatformOptions>(o => o.Devices.Add(new DeviceOptions
        {
            Name = name,
            Iommu = iommu,
            StreamId = streamId,
            AtsCapable = atsCapable,
            PasidBits = pasidBits,
        }));
        return this;
    }
}
