using System.Globalization;

namespace Iommufd.Tests.Support;

/// <summary>Settings of the long-running suites, read from environment variables.</summary>
internal static class EnvironmentSettings
{
    /// <summary>The positive number in <paramref name="variable"/>, or <paramref name="fallback"/>.</summary>
    public static double Positive(string variable, double fallback) =>
        double.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0 ? value : fallback;

    /// <summary>The seed in <paramref name="variable"/> (a replay), else a fresh one from the clock, which every test prints.</summary>
    public static int Seed(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed)
            ? seed
            : Environment.TickCount & int.MaxValue;
}
