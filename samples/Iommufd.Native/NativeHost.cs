using Iommufd.ArmSmmuV3;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Native;

/// <summary>
/// The emulated machine a native process talks to: built once, on the first open of <c>/dev/iommu</c>, and kept
/// for the life of the process.
/// </summary>
internal static class NativeHost
{
    private static readonly Lazy<IommufdHost> s_host = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static IommufdHost Host => s_host.Value;

    /// <summary>The default platform: one SMMUv3 with a Tegra241 CMDQV and two endpoint devices.</summary>
    private static IommufdHost Build()
    {
        var services = new ServiceCollection()
            .AddIommufd(b => b
                .AddArmSmmuV3("smmu0")
                .AddTegra241Cmdqv("smmu0")
                .AddDevice("dev0", iommu: "smmu0", streamId: 0x10)
                .AddDevice("dev1", iommu: "smmu0", streamId: 0x11, atsCapable: true))
            .BuildIommufdServiceProvider();
        return services.GetRequiredService<IommufdHost>();
    }
}
