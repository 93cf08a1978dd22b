using Iommufd.Tests.Support;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// How many hostile commands each path gets and with which seed. By default a small count (a few seconds for all
/// three paths) and a fresh seed that every test prints; <c>IOMMUFD_HOSTILE_COMMANDS</c> sets the per-path count for
/// a long run and <c>IOMMUFD_HOSTILE_SEED</c> replays a printed seed.
/// </summary>
internal static class HostileSettings
{
    /// <summary>Guest command entries written per path.</summary>
    public static int Commands { get; } = (int)Math.Min(EnvironmentSettings.Positive("IOMMUFD_HOSTILE_COMMANDS", 6_000), int.MaxValue);

    /// <summary>The seed of this run.</summary>
    public static int Seed { get; } = EnvironmentSettings.Seed("IOMMUFD_HOSTILE_SEED");
}
