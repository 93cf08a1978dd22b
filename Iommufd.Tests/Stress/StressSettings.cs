using Iommufd.Tests.Support;

namespace Iommufd.Tests.Stress;

/// <summary>
/// How long and with which seed the stress suites run. By default a few seconds in total, with a fresh seed that
/// every test prints; <c>IOMMUFD_STRESS_SECONDS</c> sets the total for a long run and <c>IOMMUFD_STRESS_SEED</c>
/// replays a printed seed.
/// </summary>
internal static class StressSettings
{
    /// <summary>Seconds all race cases of one plugin share (default 1.5, so both plugins take about 3 s).</summary>
    public static double TotalSeconds { get; } = EnvironmentSettings.Positive("IOMMUFD_STRESS_SECONDS", 1.5);

    /// <summary>The seed of this run.</summary>
    public static int Seed { get; } = EnvironmentSettings.Seed("IOMMUFD_STRESS_SEED");

    /// <summary>Threads racing on one file, as in the VMM model.</summary>
    public const int Threads = 4;

    /// <summary>How long a run may take beyond its budget before it counts as a deadlock.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(30);
}
