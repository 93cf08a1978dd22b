using System.Diagnostics;
using System.Globalization;

namespace Iommufd.Benchmarks;

/// <summary>
/// <c>handoff-probe [rounds]</c>: the percentiles of single round trips (not of iteration means, as
/// BenchmarkDotNet gives) for the floor and each <see cref="VcmdqConsumer"/>, one line each. The floor is two
/// threads handing a counter back and forth through two words on cache lines of their own, each waiting with
/// the pause the guest's CONS poll uses: what one cross-core round trip costs on this machine, below which no
/// hand-off can go. Each round trip is timed on the guest's thread with <see cref="Stopwatch.GetTimestamp"/>.
/// </summary>
internal static class HandOffProbe
{
    /// <summary>Round trips run unmeasured first, long enough for the JIT's tier-1 code to be in place.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1);

    public static void Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var ticks = new long[rounds];
        Report("Floor, pausing", TimePingPong(ticks, pause: true), ticks);
        Report("Floor", TimePingPong(ticks, pause: false), ticks);
        foreach (var consumer in new[] { VcmdqConsumer.Hardware, VcmdqConsumer.SoftwareSpinning })
        {
            using var rig = new VcmdqHandOffBenchmarks.Rig(consumer);
            int i = 0;
            Report(consumer.ToString(), Time(ticks, () => rig.Guest.RoundTrip(i++)), ticks);
        }
    }

    private static double TimePingPong(long[] ticks, bool pause)
    {
        using var pingPong = new PingPong(pause);
        return Time(ticks, pingPong.RoundTrip);
    }

    /// <summary>Times each of <paramref name="ticks"/>.Length round trips (Stopwatch ticks) on a thread of its own, after a warm-up (<see cref="WarmUp"/>: the JIT's tiering is done); returns the seconds the measured ones took.</summary>
    internal static double Time(long[] ticks, Action roundTrip)
    {
        double seconds = 0;
        var thread = new Thread(() =>
        {
            long warm = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warm) < WarmUp)
            {
                roundTrip();
            }

            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < ticks.Length; i++)
            {
                long t = Stopwatch.GetTimestamp();
                roundTrip();
                ticks[i] = Stopwatch.GetTimestamp() - t;
            }

            seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }) { Name = "probe-guest" };
        thread.Start();
        thread.Join();
        return seconds;
    }

    private static void Report(string name, double seconds, long[] ticks)
    {
        Array.Sort(ticks);
        double ns = 1e9 / Stopwatch.Frequency;
        string P(double q) => (ticks[(int)(q * (ticks.Length - 1))] * ns).ToString("N0", CultureInfo.InvariantCulture).PadLeft(8);
        Console.WriteLine($"{name,-17} p10 {P(0.1)} ns  p50 {P(0.5)} ns  p90 {P(0.9)} ns  p99 {P(0.99)} ns  ({ticks.Length} round trips in {seconds * 1e3:N0} ms)");
    }
}
