using NestedVmm;

namespace Iommufd.Tests.Samples;

/// <summary>The main job in a short form, on each path: its counters must show real work and no stale translation.</summary>
public class NestedVmmTests
{
    [TestCase(GuestPath.Trap)]
    [TestCase(GuestPath.HardwareVcmdq)]
    [TestCase(GuestPath.SoftwareVcmdq)]
    public void A_short_run_forwards_invalidations_completes_syncs_and_never_uses_a_stale_translation(GuestPath path)
    {
        var options = new NestedVmmOptions { GuestThreads = 2, Devices = 2, RoundsPerThread = 40, Progress = false };
        options.Paths.Clear();
        options.Paths.Add(path);
        var output = new StringWriter();

        var result = NestedVmmScenario.Run(options, output).Single();

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
            if (path == GuestPath.Trap)
            {
                Assert.That(result.VmmIoctls, Is.GreaterThanOrEqualTo(80), "each guest batch is one IOMMU_HWPT_INVALIDATE");
            }
            else
            {
                Assert.That(result.VmmIoctls, Is.LessThan(10), "TLBIs go to the VCMDQ, not through the VMM");
            }

            Assert.That(output.ToString(), Does.Contain("no stale translation"));
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
