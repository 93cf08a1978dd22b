using System.Diagnostics.Metrics;

namespace Iommufd.Core;

/// <summary>
/// The core's counters (meter <c>Iommufd.Core</c>): every raw ioctl by command and result. Tags are built only
/// when a listener is attached, so an unobserved ioctl pays one flag check.
/// </summary>
public static class IommufdMetrics
{
    public const string MeterName = "Iommufd.Core";

    private static readonly Meter Meter = new(MeterName);

    /// <summary><c>iommufd.ioctls</c>: raw ioctls, tagged <c>command</c> and <c>errno</c>.</summary>
    internal static readonly Counter<long> Ioctls = Meter.CreateCounter<long>("iommufd.ioctls", description: "Raw iommufd ioctls by command and result");

    internal static void RecordIoctl(uint request, Errno result)
    {
        if (Ioctls.Enabled)
        {
            Ioctls.Add(1, new KeyValuePair<string, object?>("command", $"0x{request & 0xFF:x2}"), new KeyValuePair<string, object?>("errno", result.ToString()));
        }
    }
}
