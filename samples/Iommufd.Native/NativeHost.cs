using Iommufd.ArmSmmuV3;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Iommufd.Native;

/// <summary>
/// The emulated machine a native process talks to: built once, on the first open of <c>/dev/iommu</c> or a device
/// node, and kept for the life of the process. <c>IOMMUFD_PLATFORM</c> names a platform file
/// (<see cref="PlatformFile"/>); without it the default platform is used.
/// </summary>
internal static class NativeHost
{
    /// <summary>The environment variable that names the platform file.</summary>
    public const string PlatformVariable = "IOMMUFD_PLATFORM";

    /// <summary>The environment variable that, set to 1, sends the errno trace and driver events to standard error.</summary>
    public const string TraceVariable = "IOMMUFD_TRACE";

    private static readonly Lazy<IommufdHost> s_host = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The machine; throws (every time) when the platform file is not valid.</summary>
    public static IommufdHost Host => s_host.Value;

    /// <summary>The default platform: one SMMUv3 with a Tegra241 CMDQV and two endpoint devices.</summary>
    private static void Default(IommufdBuilder b) => b
        .AddArmSmmuV3("smmu0")
        .AddTegra241Cmdqv("smmu0")
        .AddDevice("dev0", iommu: "smmu0", streamId: 0x10)
        .AddDevice("dev1", iommu: "smmu0", streamId: 0x11, atsCapable: true);

    private static IommufdHost Build()
    {
        string? path = Environment.GetEnvironmentVariable(PlatformVariable);
        Action<IommufdBuilder> configure = string.IsNullOrEmpty(path) ? Default : PlatformFile.Load(path);
        try
        {
            var services = new ServiceCollection().AddIommufd(configure);
            if (Environment.GetEnvironmentVariable(TraceVariable) == "1")
            {
                services.AddIommufdTrace(Console.Error);
            }

            return services.BuildIommufdServiceProvider().GetRequiredService<IommufdHost>();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OptionsValidationException)
        {
            // Options validation and the builders' own checks (an unknown IOMMU, a duplicate name).
            throw new InvalidDataException($"platform file {path}: {e.Message}", e);
        }
    }
}
