using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Cmdqv.Driver;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Iommufd.Cmdqv;

/// <summary>Adds a Tegra241 CMDQV beside an SMMUv3: <c>b.AddArmSmmuV3("smmu0").AddTegra241Cmdqv("smmu0")</c>.</summary>
public static class Tegra241CmdqvBuilderExtensions
{
    /// <summary>Adds a Tegra241 CMDQV beside the SMMUv3 instance named <paramref name="smmu"/>, set up by <paramref name="configure"/>, and registers the CMDQV implementation factory once.</summary>
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
