using System.Globalization;

namespace Iommufd.Tests.Stress;

/// <summary>
/// How long and with which seed the stress suites run. By default a few seconds in total, with a fresh seed that
/// every test prints; <c>IOMMUFD_STRESS_SECONDS</c> sets the total for a long run and <c>IOMMUFD_STRESS_SEED</c>
/// replays a printed seed.
/// </summary>
internal static class StressSettings
{
    /// <summary>Seconds all race cases of one plugin share (default 1.5, so both plugins take about 3 s).</summary>
    public static double TotalSeconds { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("IOMMUFD_STRESS_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0 ? s : 1.5;

    /// <summary>The seed of this run.</summary>
    public static int Seed { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("IOMMUFD_STRESS_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed)
            ? seed
            : Environment.TickCount & int.MaxValue; // a fresh seed per run, printed by every test

    /// <summary>Threads racing on one file, as in the VMM model.</summary>
    public const int Threads = 4;

    /// <summary>How long a run may take beyond its budget before it counts as a deadlock.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(30);
}
