using Iommufd.Vmm;
namespace NestedVmm;

/// <summary>Runs the scenario on each path, in order, and collects what each measured.</summary>
public static class NestedVmmScenario
{
    /// <summary>Runs every path of <paramref name="options"/>, telling <paramref name="log"/> what is going on.</summary>
    public static NestedVmmReport Run(NestedVmmOptions options, TextWriter log, CancellationToken cancel = default) =>
        Run(options, log, display: null, cancel);

    /// <summary>
    /// Runs every path of <paramref name="options"/>; <paramref name="log"/> gets what is going on (the run's shape,
    /// each path's start, stale translations, and a progress line a second when asked for) unless a
    /// <paramref name="display"/> is given, which then shows the shape and progress and <paramref name="log"/> gets
    /// only the stale translations. The display is asked, as each path starts (with its description), for
    /// what to tell about that path's progress. When <paramref name="cancel"/> is set the current path stops, keeps
    /// what it measured, and no further path starts.
    /// </summary>
    public static NestedVmmReport Run(NestedVmmOptions options, TextWriter log, Func<InvalidationPath, string, Action<PathProgress>>? display, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        if (display is null)
        {
            log.WriteLine(Header(options));
        }

        var results = new List<PathResult>();
        foreach (var path in options.Paths)
        {
            if (cancel.IsCancellationRequested)
            {
                break;
            }

            Action<PathProgress>? progress;
            if (display is not null)
            {
                progress = display(path, Describe(path));
            }
            else
            {
                log.WriteLine($"running {Describe(path)} ...");
                progress = options.Progress ? EverySecond(log) : null;
            }

            using var run = new PathRun(path, options);
            var result = run.Run(progress, cancel);
            results.Add(result);
            if (result.StaleTranslations > 0)
            {
                log.WriteLine($"  STALE TRANSLATION: DMA succeeded {result.StaleTranslations} time(s) after unmap + invalidation");
            }
        }

        return new NestedVmmReport(options.TrapCost, results, cancel.IsCancellationRequested);
    }

    /// <summary>The run's shape in one line: the VM, the bound of each path, the trap cost.</summary>
    public static string Header(NestedVmmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return $"nested-vmm: 1 VM, {options.Devices} device(s), {options.GuestThreads} guest thread(s), "
            + (options.RoundsPerThread > 0 ? $"{options.RoundsPerThread} rounds per thread" : $"{options.Duration.TotalSeconds:0.#} s per path")
            + $", trap cost {options.TrapCost}";
    }

    private static Action<PathProgress> EverySecond(TextWriter log)
    {
        long lastSecond = 0;
        return p =>
        {
            long second = (long)p.Elapsed.TotalSeconds;
            if (second > lastSecond && p.Fraction < 1)
            {
                lastSecond = second;
                log.WriteLine($"  {p.Path}: {second}s, {p.Rounds} rounds, {p.DmaOperations} DMA operations");
            }
        };
    }

    private static string Describe(InvalidationPath path) => path switch
    {
        InvalidationPath.Trap => "trap path (vSMMU queue → IOMMU_HWPT_INVALIDATE)",
        InvalidationPath.HardwareVcmdq => "hardware VCMDQ (guest writes its own queue)",
        _ => "software VCMDQ (host worker behind the same window)",
    };
}
