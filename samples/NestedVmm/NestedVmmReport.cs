using System.Globalization;
using System.Text;
using System.Text.Json;
using Iommufd.Vmm;

namespace NestedVmm;

/// <summary>
/// What a run of the main job measured: each path's result, printed as a table or as one JSON document, and the
/// answer to the question the job exists for — how the direct and the software queue compare with trapping.
/// </summary>
/// <param name="TrapCost">The exit cost every trap was charged.</param>
/// <param name="Results">One result per path that ran, in order.</param>
/// <param name="Cancelled">True when the run was interrupted: the last path is partial and later ones did not run.</param>
public sealed record NestedVmmReport(TrapCost TrapCost, IReadOnlyList<PathResult> Results, bool Cancelled)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>True when every path that ran passed (no stale translation, no command error).</summary>
    public bool Passed => Results.Count > 0 && Results.All(r => r.Passed);

    /// <summary>
    /// The p50 latency and the throughput of <paramref name="path"/> divided by the trap path's, or null when one of
    /// them did not run (or measured nothing).
    /// </summary>
    public (double P50, double Throughput)? RatioToTrap(InvalidationPath path)
    {
        var trap = Find(InvalidationPath.Trap)?.Invalidation;
        var other = Find(path)?.Invalidation;
        if (trap is null || other is null || trap.Count == 0 || other.Count == 0 || trap.P50Microseconds <= 0 || trap.PerSecond <= 0)
        {
            return null;
        }

        return (other.P50Microseconds / trap.P50Microseconds, other.PerSecond / trap.PerSecond);
    }

    /// <summary>
    /// The last line of the report: "direct ÷ trap: p50 0.21, throughput 4.10; software ÷ trap: p50 0.85,
    /// throughput 1.30 (trap cost kunpeng920, 2.3 µs per trap)". A p50 ratio below 1 and a throughput ratio above 1
    /// mean the queue beats trapping.
    /// </summary>
    public string Conclusion
    {
        get
        {
            var parts = new List<string>();
            foreach (var (path, label) in new[] { (InvalidationPath.HardwareVcmdq, "direct"), (InvalidationPath.SoftwareVcmdq, "software") })
            {
                if (RatioToTrap(path) is var (p50, throughput))
                {
                    parts.Add(string.Create(Invariant, $"{label} ÷ trap: p50 {p50:0.00}, throughput {throughput:0.00}"));
                }
            }

            string cost = string.Create(Invariant, $"trap cost {TrapCost.Name}, {TrapCost.Microseconds:0.###} µs per trap");
            return parts.Count == 0
                ? $"no ratio to the trap path: it and a VCMDQ path must both run ({cost})"
                : $"{string.Join("; ", parts)} ({cost})";
        }
    }

    /// <summary>The summary table (Markdown), the verdict, and <see cref="Conclusion"/> as the last line.</summary>
    public void WriteTable(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"trap cost: {TrapCost} — {TrapCost.Source}");
        output.WriteLine("| path | trap cost (µs) | DMA ops | rounds | commands | CMD_SYNCs | errors | stale | traps | VMM ioctls | invalidations | inval p50 (µs) | p90 (µs) | p99 (µs) | max (µs) | inval/s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Results)
        {
            var i = r.Invalidation;
            output.WriteLine(string.Format(Invariant,
                "| {0}{1} | {2:0.###} | {3} | {4} | {5} | {6} | {7} | {8} | {9} | {10} | {11} | {12:0.0} | {13:0.0} | {14:0.0} | {15:0.0} | {16:0} |",
                r.Path, r.Cancelled ? " (interrupted)" : string.Empty, r.TrapCost.Microseconds, r.DmaOperations, r.Rounds, r.GuestCommands,
                r.Syncs, r.Errors, r.StaleTranslations, r.Traps, r.VmmIoctls, i.Count, i.P50Microseconds, i.P90Microseconds, i.P99Microseconds,
                i.MaxMicroseconds, i.PerSecond));
        }

        output.WriteLine();
        output.WriteLine(Cancelled
            ? "interrupted: the figures above are what was measured until then"
            : Passed ? "all paths passed: no stale translation was ever used" : "FAILED");
        output.WriteLine(Conclusion);
    }

    /// <summary>Every figure of the table, per path, as one JSON document (and nothing else).</summary>
    public void WriteJson(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("trapCost");
            json.WriteString("name", TrapCost.Name);
            json.WriteNumber("microseconds", TrapCost.Microseconds);
            json.WriteString("source", TrapCost.Source);
            json.WriteEndObject();
            json.WriteBoolean("passed", Passed);
            json.WriteBoolean("cancelled", Cancelled);
            json.WriteStartArray("paths");
            foreach (var r in Results)
            {
                WritePath(json, r);
            }

            json.WriteEndArray();
            json.WriteStartObject("ratiosToTrap");
            WriteRatio(json, "hardwareVcmdq", RatioToTrap(InvalidationPath.HardwareVcmdq));
            WriteRatio(json, "softwareVcmdq", RatioToTrap(InvalidationPath.SoftwareVcmdq));
            json.WriteEndObject();
            json.WriteString("conclusion", Conclusion);
            json.WriteEndObject();
        }

        output.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    private PathResult? Find(InvalidationPath path) => Results.FirstOrDefault(r => r.Path == path);

    private static void WritePath(Utf8JsonWriter json, PathResult r)
    {
        var i = r.Invalidation;
        json.WriteStartObject();
        json.WriteString("path", r.Path.ToString());
        json.WriteNumber("trapCostMicroseconds", r.TrapCost.Microseconds);
        json.WriteNumber("dmaOperations", r.DmaOperations);
        json.WriteNumber("rounds", r.Rounds);
        json.WriteNumber("commands", r.GuestCommands);
        json.WriteNumber("syncs", r.Syncs);
        json.WriteNumber("errors", r.Errors);
        json.WriteNumber("staleTranslations", r.StaleTranslations);
        json.WriteNumber("faultEvents", r.FaultEventsSeen);
        json.WriteNumber("traps", r.Traps);
        json.WriteNumber("vmmIoctls", r.VmmIoctls);
        json.WriteNumber("invalidations", i.Count);
        json.WriteNumber("p50Microseconds", i.P50Microseconds);
        json.WriteNumber("p90Microseconds", i.P90Microseconds);
        json.WriteNumber("p99Microseconds", i.P99Microseconds);
        json.WriteNumber("maxMicroseconds", i.MaxMicroseconds);
        json.WriteNumber("meanMicroseconds", i.MeanMicroseconds);
        json.WriteNumber("invalidationsPerSecond", i.PerSecond);
        json.WriteNumber("elapsedSeconds", r.Elapsed.TotalSeconds);
        json.WriteBoolean("passed", r.Passed);
        json.WriteBoolean("cancelled", r.Cancelled);
        json.WriteEndObject();
    }

    private static void WriteRatio(Utf8JsonWriter json, string name, (double P50, double Throughput)? ratio)
    {
        if (ratio is not var (p50, throughput))
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartObject(name);
        json.WriteNumber("p50", p50);
        json.WriteNumber("throughput", throughput);
        json.WriteEndObject();
    }
}
