using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Cmdqv.Driver;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iommufd.Cmdqv;

/// <summary>Adds a Tegra241 CMDQV beside an SMMUv3: <c>b.AddArmSmmuV3("smmu0").AddTegra241Cmdqv("smmu0")</c>.</summary>
public static class Tegra241CmdqvBuilderExtensions
{
    public static IommufdBuilder AddTegra241Cmdqv(this IommufdBuilder builder, string smmu = "smmu0", Action<CmdqvOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ISmmuV3ImplementationFactory, CmdqvImplementationFactory>());
        builder.Services.Configure<CmdqvRegistry>(r =>
        {
            var options = new CmdqvOptions { Smmu = smmu };
            configure?.Invoke(options);
            r.Options.Add(options);
        });
        return builder;
    }
}
