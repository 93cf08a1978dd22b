using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Iommufd.Core.DependencyInjection;

/// <summary>Registers the iommufd emulation: <c>services.AddIommufd(b => b.AddArmSmmuV3(...).AddDevice(...))</c>.</summary>
public static class IommufdServiceCollectionExtensions
{
    /// <summary>
    /// Adds the physical memory, the platform and <see cref="IommufdHost"/>. Driver plugins and devices are added
    /// by <paramref name="configure"/>. The platform checks its options when it is first resolved; build the
    /// provider with <c>ValidateOnBuild</c> and resolve <see cref="IommufdHost"/> at start-up to fail early.
    /// </summary>
    public static IServiceCollection AddIommufd(this IServiceCollection services, Action<IommufdBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PlatformOptions>();
        services.AddMetrics(); // the IMeterFactory the host and the drivers make their meters from
        services.TryAddSingleton<PhysicalMemory>();
        services.TryAddSingleton<Platform>();
        services.TryAddSingleton<Diagnostics.FailNth>();
        services.TryAddSingleton<IommufdHost>();
        configure(new IommufdBuilder(services));
        return services;
    }

    /// <summary>
    /// Sends the emulation's log — the errno trace of every refusal (<see cref="Diagnostics.Refusal"/>), driver and
    /// hardware events — to <paramref name="writer"/> from <paramref name="minimum"/> up, through a
    /// <see cref="Diagnostics.TraceLoggerFactory"/>. Replaces any logger factory registered before.
    /// </summary>
    public static IServiceCollection AddIommufdTrace(this IServiceCollection services, TextWriter writer, LogLevel minimum = LogLevel.Debug)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.RemoveAll<ILoggerFactory>();
        services.AddSingleton<ILoggerFactory>(new Diagnostics.TraceLoggerFactory(writer, minimum));
        return services;
    }
}
