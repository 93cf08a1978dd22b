using System.Text.Json;
using Iommufd.Vmm;
using NestedVmm;

namespace Iommufd.Tests.Samples;

/// <summary>The main job in a short form, on each path: its counters must show real work and no stale translation.</summary>
public class NestedVmmTests
{
    [TestCase(InvalidationPath.Trap)]
    [TestCase(InvalidationPath.HardwareVcmdq)]
    [TestCase(InvalidationPath.SoftwareVcmdq)]
    public void A_short_run_forwards_invalidations_completes_syncs_and_never_uses_a_stale_translation(InvalidationPath path)
    {
        var options = new NestedVmmOptions { GuestThreads = 2, Devices = 2, RoundsPerThread = 40, Progress = false, TrapCost = TrapCost.None };
        options.Paths.Clear();
        options.Paths.Add(path);
        var output = new StringWriter();

        var report = NestedVmmScenario.Run(options, output);
        report.WriteTable(output);
        var result = report.Results.Single();

        Assert.Multiple(() =>
        {
            Assert.That(result.Passed, Is.True, output.ToString());
            Assert.That(result.Rounds, Is.EqualTo(80));
            Assert.That(result.StaleTranslations, Is.Zero);
            Assert.That(result.Errors, Is.Zero);
            Assert.That(result.Syncs, Is.GreaterThanOrEqualTo(80), "every unmap ends with a completed CMD_SYNC");
            Assert.That(result.GuestCommands, Is.GreaterThan(result.Syncs), "invalidations besides the syncs");
            // 4 pages mapped, 2 DMAs per page, plus the check after the unmap: 9 per round.
            Assert.That(result.DmaOperations, Is.EqualTo(80 * 9));
            if (path == InvalidationPath.Trap)
            {
                Assert.That(result.VmmIoctls, Is.GreaterThanOrEqualTo(80), "each guest batch is one IOMMU_HWPT_INVALIDATE");
            }
            else
            {
                Assert.That(result.VmmIoctls, Is.LessThan(10), "TLBIs go to the VCMDQ, not through the VMM");
            }

            Assert.That(result.Invalidation.Count, Is.EqualTo(80), "each unmap's invalidation is measured once");
            Assert.That(result.Invalidation.P50Microseconds, Is.GreaterThan(0).And.LessThanOrEqualTo(result.Invalidation.P99Microseconds));
            Assert.That(result.TrapCost, Is.SameAs(TrapCost.None));
            Assert.That(output.ToString(), Does.Contain("no stale translation"));
            Assert.That(output.ToString(), Does.Contain("trap cost: none"), "the table says which trap cost it used");
        });
    }

    [Test]
    public void Traps_are_what_the_trap_path_pays_per_batch_and_what_a_VCMDQ_avoids()
    {
        // Setup traps include status polls (a guest spins on STATUS/CR0ACK reads, each an exit), whose number depends
        // on scheduling (tens on a loaded machine); what must not happen is a trap per invalidation. So compare two
        // runs 100 rounds apart.
        NestedVmmReport Run(int rounds) => NestedVmmScenario.Run(
            new NestedVmmOptions { GuestThreads = 1, Devices = 1, RoundsPerThread = rounds, Progress = false, TrapCost = TrapCost.None },
            TextWriter.Null);
        var shorter = Run(10);
        var longer = Run(110);
        long Grown(InvalidationPath path, Func<PathResult, long> what) =>
            what(longer.Results.Single(r => r.Path == path)) - what(shorter.Results.Single(r => r.Path == path));

        Assert.Multiple(() =>
        {
            // Each guest batch on the vSMMU is one PROD write and one CONS read.
            Assert.That(Grown(InvalidationPath.Trap, r => r.Traps), Is.GreaterThanOrEqualTo(2 * Grown(InvalidationPath.Trap, r => r.Syncs)));
            Assert.That(Grown(InvalidationPath.Trap, r => r.Syncs), Is.GreaterThanOrEqualTo(100), "a CMD_SYNC per unmap at least");
            Assert.That(Grown(InvalidationPath.HardwareVcmdq, r => r.Traps), Is.LessThan(100), "no trap per invalidation on the hardware VCMDQ");
            Assert.That(Grown(InvalidationPath.SoftwareVcmdq, r => r.Traps), Is.LessThan(100), "no trap per invalidation on the software VCMDQ");
            Assert.That(longer.RatioToTrap(InvalidationPath.HardwareVcmdq), Is.Not.Null);
            Assert.That(longer.Conclusion, Does.StartWith("direct ÷ trap: p50 ").And.Contain("software ÷ trap: p50 ").And.EndWith("(trap cost none, 0 µs per trap)"));
        });
    }

    [Test]
    public void The_JSON_report_holds_every_figure_of_the_table_per_path_and_the_ratios()
    {
        var options = new NestedVmmOptions { GuestThreads = 1, Devices = 1, RoundsPerThread = 10, Progress = false, TrapCost = TrapCost.Hvc };
        options.Paths.Clear();
        options.Paths.AddRange([InvalidationPath.Trap, InvalidationPath.HardwareVcmdq]);
        var report = NestedVmmScenario.Run(options, TextWriter.Null);
        var text = new StringWriter();
        report.WriteJson(text);

        using var json = JsonDocument.Parse(text.ToString());
        var root = json.RootElement;
        var paths = root.GetProperty("paths").EnumerateArray().ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("trapCost").GetProperty("name").GetString(), Is.EqualTo("hvc"));
            Assert.That(root.GetProperty("trapCost").GetProperty("microseconds").GetDouble(), Is.EqualTo(0.41));
            Assert.That(paths.Select(p => p.GetProperty("path").GetString()), Is.EqualTo(new[] { "Trap", "HardwareVcmdq" }));
            foreach (var key in new[] { "trapCostMicroseconds", "dmaOperations", "rounds", "commands", "syncs", "errors", "staleTranslations", "traps", "vmmIoctls", "invalidations", "p50Microseconds", "p90Microseconds", "p99Microseconds", "maxMicroseconds", "invalidationsPerSecond" })
            {
                Assert.That(paths.All(p => p.TryGetProperty(key, out _)), Is.True, key);
            }

            Assert.That(paths[0].GetProperty("rounds").GetInt64(), Is.EqualTo(10));
            Assert.That(paths[0].GetProperty("invalidations").GetInt64(), Is.EqualTo(10));
            Assert.That(root.GetProperty("ratiosToTrap").GetProperty("hardwareVcmdq").GetProperty("p50").GetDouble(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("ratiosToTrap").GetProperty("softwareVcmdq").ValueKind, Is.EqualTo(JsonValueKind.Null), "not run");
            Assert.That(root.GetProperty("conclusion").GetString(), Is.EqualTo(report.Conclusion));
        });
    }

    [Test]
    public void Cancelling_ends_the_current_path_keeps_what_was_measured_and_starts_no_other()
    {
        var options = new NestedVmmOptions { GuestThreads = 1, Devices = 1, RoundsPerThread = 10, Progress = false, TrapCost = TrapCost.None };
        using var cancel = new CancellationTokenSource();

        // Cancel as the second path starts: the first finished, the second stops at once, the third never runs.
        int started = 0;
        var log = new CallbackWriter(line =>
        {
            if (line.StartsWith("running", StringComparison.Ordinal) && ++started == 2)
            {
                cancel.Cancel();
            }
        });
        var report = NestedVmmScenario.Run(options, log, cancel.Token);
        var table = new StringWriter();
        report.WriteTable(table);

        Assert.Multiple(() =>
        {
            Assert.That(report.Cancelled, Is.True);
            Assert.That(report.Results.Select(r => r.Path), Is.EqualTo(new[] { InvalidationPath.Trap, InvalidationPath.HardwareVcmdq }));
            Assert.That(report.Results[0].Rounds, Is.EqualTo(10));
            Assert.That(report.Results[0].Cancelled, Is.False);
            Assert.That(report.Results[1].Cancelled, Is.True);
            Assert.That(table.ToString(), Does.Contain("interrupted"));
        });
    }

    /// <summary>Hands each written line to a callback.</summary>
    private sealed class CallbackWriter(Action<string> onLine) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            onLine(value ?? string.Empty);
        }
    }

    [Test]
    public void A_progress_display_is_asked_once_per_path_and_sees_each_run_go_from_start_to_done()
    {
        var options = new NestedVmmOptions { GuestThreads = 2, Devices = 1, RoundsPerThread = 30, TrapCost = TrapCost.None };
        options.Paths.Clear();
        options.Paths.AddRange([InvalidationPath.Trap, InvalidationPath.SoftwareVcmdq]);
        var log = new StringWriter();
        var shown = new List<(InvalidationPath Path, string Description, List<PathProgress> Updates)>();

        var report = NestedVmmScenario.Run(options, log, (path, description) =>
        {
            var updates = new List<PathProgress>();
            shown.Add((path, description, updates));
            return updates.Add;
        }, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(report.Passed, Is.True);
            Assert.That(shown.Select(s => s.Path), Is.EqualTo(new[] { InvalidationPath.Trap, InvalidationPath.SoftwareVcmdq }));
            Assert.That(shown[0].Description, Does.Contain("trap path"));
            foreach (var (path, _, updates) in shown)
            {
                Assert.That(updates, Is.Not.Empty, $"{path}");
                Assert.That(updates.Select(u => u.Fraction), Is.Ordered, $"{path}: progress never goes back");
                Assert.That(updates[^1].Fraction, Is.EqualTo(1), $"{path}: the last update says done");
                Assert.That(updates[^1].Rounds, Is.EqualTo(60), $"{path}: every round counted");
            }

            Assert.That(log.ToString(), Is.Empty, "with a display, the log gets only stale translations");
        });
    }

    [Test]
    public void The_command_line_rejects_bad_arguments_with_exit_code_2()
    {
        var error = new StringWriter();
        int code = NestedVmmCommand.Run(["--path", "warp"], TextWriter.Null, error);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(error.ToString(), Does.Contain("unknown path 'warp'"));
        });
    }
}
