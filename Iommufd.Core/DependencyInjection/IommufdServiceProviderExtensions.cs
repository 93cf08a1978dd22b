using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Core.DependencyInjection;

/// <summary>Builds a provider for the emulation and validates every option while doing so.</summary>
public static class IommufdServiceProviderExtensions
{
    /// <summary>
    /// Builds the service provider (with <c>ValidateOnBuild</c>) and resolves <see cref="IommufdHost"/> at once, so
    /// that the platform, driver and plugin options are validated now — an invalid configuration throws
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> here, not at the first ioctl.
    /// </summary>
    public static ServiceProvider BuildIommufdServiceProvider(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            provider.GetRequiredService<IommufdHost>();
            return provider;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }
}
