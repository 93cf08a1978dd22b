namespace NestedVmm;

/// <summary>
/// The latency of the invalidations one path measured, from a <see cref="LatencyHistogram"/>, and their rate.
/// </summary>
/// <param name="Count">Invalidations measured (one per unmap).</param>
/// <param name="P50Microseconds">Median.</param>
/// <param name="P90Microseconds">90th percentile.</param>
/// <param name="P99Microseconds">99th percentile.</param>
/// <param name="MaxMicroseconds">Largest.</param>
/// <param name="MeanMicroseconds">Mean.</param>
/// <param name="PerSecond">Invalidations per second of the path's run, over all vCPUs.</param>
public sealed record InvalidationStatistics(
    long Count,
    double P50Microseconds,
    double P90Microseconds,
    double P99Microseconds,
    double MaxMicroseconds,
    double MeanMicroseconds,
    double PerSecond)
{
    public static InvalidationStatistics From(LatencyHistogram histogram, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        return new(
            histogram.Count,
            histogram.ValueAt(0.50) / 1e3,
            histogram.ValueAt(0.90) / 1e3,
            histogram.ValueAt(0.99) / 1e3,
            histogram.Max / 1e3,
            histogram.Mean / 1e3,
            histogram.Count / Math.Max(elapsed.TotalSeconds, 1e-9));
    }
}
