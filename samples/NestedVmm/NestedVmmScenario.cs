using System.Globalization;

namespace NestedVmm;

/// <summary>Runs the scenario on each path and prints a summary table.</summary>
public static class NestedVmmScenario
{
    public static IReadOnlyList<PathResult> Run(NestedVmmOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"nested-vmm: 1 VM, {options.Devices} device(s), {options.GuestThreads} guest thread(s), "
            + (options.RoundsPerThread > 0 ? $"{options.RoundsPerThread} rounds per thread" : $"{options.Duration.TotalSeconds:0.#} s per path"));
        var results = new List<PathResult>();
        foreach (var path in options.Paths)
        {
            output.WriteLine($"running {Describe(path)} ...");
            using var run = new PathRun(path, options);
            var result = run.Run(options.Progress ? output.WriteLine : null);
            results.Add(result);
            if (result.StaleTranslations > 0)
            {
                output.WriteLine($"  STALE TRANSLATION: DMA succeeded {result.StaleTranslations} time(s) after unmap + invalidation");
            }
        }

        output.WriteLine();
        Print(results, output);
        output.WriteLine();
        output.WriteLine(results.All(r => r.Passed) ? "all paths passed: no stale translation was ever used" : "FAILED");
        return results;
    }

    private static string Describe(GuestPath path) => path switch
    {
        GuestPath.Trap => "trap path (vSMMU queue → IOMMU_HWPT_INVALIDATE)",
        GuestPath.HardwareVcmdq => "hardware VCMDQ (guest writes its own queue)",
        _ => "software VCMDQ (host worker behind the same window)",
    };

    private static void Print(IReadOnlyList<PathResult> results, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine("| path | DMA ops | rounds | commands | CMD_SYNCs | errors | stale | VMM ioctls | inval p50 (µs) | inval p99 (µs) | inval/s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            output.WriteLine(string.Format(c, "| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} | {8:0.0} | {9:0.0} | {10:0} |",
                r.Path, r.DmaOperations, r.Rounds, r.GuestCommands, r.Syncs, r.Errors, r.StaleTranslations, r.VmmIoctls,
                r.InvalidationP50Microseconds, r.InvalidationP99Microseconds, r.InvalidationsPerSecond));
        }
    }
}
