namespace NestedVmm;

/// <summary>Runs the scenario on each path, in order, and collects what each measured.</summary>
public static class NestedVmmScenario
{
    /// <summary>
    /// Runs every path of <paramref name="options"/>; <paramref name="log"/> gets what is going on (the run's shape,
    /// each path's start, progress when asked for, stale translations). When <paramref name="cancel"/> is set the
    /// current path stops, keeps what it measured, and no further path starts.
    /// </summary>
    public static NestedVmmReport Run(NestedVmmOptions options, TextWriter log, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        log.WriteLine($"nested-vmm: 1 VM, {options.Devices} device(s), {options.GuestThreads} guest thread(s), "
            + (options.RoundsPerThread > 0 ? $"{options.RoundsPerThread} rounds per thread" : $"{options.Duration.TotalSeconds:0.#} s per path")
            + $", trap cost {options.TrapCost}");
        var results = new List<PathResult>();
        foreach (var path in options.Paths)
        {
            if (cancel.IsCancellationRequested)
            {
                break;
            }

            log.WriteLine($"running {Describe(path)} ...");
            using var run = new PathRun(path, options);
            var result = run.Run(options.Progress ? log.WriteLine : null, cancel);
            results.Add(result);
            if (result.StaleTranslations > 0)
            {
                log.WriteLine($"  STALE TRANSLATION: DMA succeeded {result.StaleTranslations} time(s) after unmap + invalidation");
            }
        }

        return new NestedVmmReport(options.TrapCost, results, cancel.IsCancellationRequested);
    }

    private static string Describe(GuestPath path) => path switch
    {
        GuestPath.Trap => "trap path (vSMMU queue → IOMMU_HWPT_INVALIDATE)",
        GuestPath.HardwareVcmdq => "hardware VCMDQ (guest writes its own queue)",
        _ => "software VCMDQ (host worker behind the same window)",
    };
}
