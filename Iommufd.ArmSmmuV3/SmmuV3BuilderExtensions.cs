using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iommufd.ArmSmmuV3;

/// <summary>Adds emulated SMMUv3 instances and their host driver: <c>b.AddArmSmmuV3("smmu0", o => ...)</c>.</summary>
public static class SmmuV3BuilderExtensions
{
    /// <summary>Adds an emulated SMMUv3 instance named <paramref name="name"/>, set up by <paramref name="configure"/>, and registers the SMMUv3 host driver once.</summary>
    public static IommufdBuilder AddArmSmmuV3(this IommufdBuilder builder, string name = "smmu0", Action<SmmuV3InstanceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IIommuDriver, SmmuV3Driver>());
        builder.Services.Configure<SmmuV3Options>(o =>
        {
            var instance = new SmmuV3InstanceOptions { Name = name };
            configure?.Invoke(instance);
            o.Instances.Add(instance);
        });
        return builder;
    }
}
