using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.MockDriver;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Iommufd.Tests.Core;

/// <summary>Options are validated when the provider is built.</summary>
public class ProviderValidationTests
{
    [Test]
    public void A_device_behind_an_IOMMU_no_driver_provides_fails_when_the_provider_is_built()
    {
        var services = new ServiceCollection().AddIommufd(b => b.AddMockIommu("mock0").AddDevice("dev", "smmu9", 1));
        var ex = Assert.Throws<OptionsValidationException>(() => services.BuildIommufdServiceProvider());
        Assert.That(ex!.Message, Does.Contain("'smmu9'"));
    }

    [Test]
    public void Two_devices_with_one_StreamID_behind_one_IOMMU_fail_when_the_provider_is_built()
    {
        var services = new ServiceCollection().AddIommufd(b => b.AddMockIommu("mock0").AddDevice("a", "mock0", 7).AddDevice("b", "mock0", 7));
        var ex = Assert.Throws<OptionsValidationException>(() => services.BuildIommufdServiceProvider());
        Assert.That(ex!.Message, Does.Contain("StreamID 7"));
    }

    [Test]
    public void A_valid_configuration_builds_and_the_host_is_ready()
    {
        using var provider = new ServiceCollection().AddIommufd(b => b.AddMockIommu("mock0").AddDevice("a", "mock0", 7)).BuildIommufdServiceProvider();
        Assert.That(provider.GetRequiredService<IommufdHost>().Platform.GetDevice("a").StreamId, Is.EqualTo(7u));
    }
}
