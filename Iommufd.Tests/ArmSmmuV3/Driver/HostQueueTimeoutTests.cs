using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>The host's CMD_SYNC wait is bounded: a queue that stops consuming is ETIMEDOUT, not a hang.</summary>
public class HostQueueTimeoutTests
{
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_sync_the_SMMU_never_consumes_is_ETIMEDOUT_and_the_queue_recovers_once_it_runs_again(ExecutionMode mode)
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => { o.ExecutionMode = mode; o.SyncTimeout = TimeSpan.FromMilliseconds(50); }))
            .BuildIommufdServiceProvider();
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        uint cr0 = (uint)host.Hardware.ReadRegister((uint)SmmuRegister.CR0);

        host.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0 & ~8u); // CMDQEN off: nothing is consumed
        var stalled = host.Issue([SmmuCommandBuilder.TlbiNsnhAll()], out int completed);
        host.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0); // back on: the pending entries run

        // 50 ms per sync: on a loaded machine the resumed engine thread may miss the first one; the queue must
        // work again, so ask until it does.
        int completedAfter = 0;
        bool recovered = Poll.Until(() => host.Issue([SmmuCommandBuilder.TlbiNsnhAll()], out completedAfter) == Errno.Success);

        Assert.Multiple(() =>
        {
            Assert.That(stalled, Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(completed, Is.Zero);
            Assert.That(recovered, Is.True);
            Assert.That(completedAfter, Is.EqualTo(1));
        });
    }

    private const int Log2Entries = 7; // a 128-entry host queue: a few hundred batches wrap it twice

    /// <summary>
    /// A batch whose wait for its CMD_SYNC ended (ETIMEDOUT) before the SMMU got to it, and whose CMD_SYNC then fails
    /// with CERROR_ATC_INV_SYNC (spec §7.1; arm_smmu_cmdq_skip_err leaves CONS on the sync), is nobody's to report: the
    /// waiter that meets the error fixes the queue, and the batches that reuse those slots after the queue wraps
    /// (index and wrap bit equal again, every 2 × 128 entries) succeed with all their entries done.
    /// </summary>
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_timed_out_batch_whose_sync_fails_later_leaves_no_failure_for_the_batches_that_reuse_its_slots(ExecutionMode mode)
    {
        using var provider = SmallQueue(mode, atsCapable: true);
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        var device = provider.GetRequiredService<IommufdHost>().Platform.GetDevice("nic");
        uint cr0 = (uint)host.Hardware.ReadRegister((uint)SmmuRegister.CR0);

        device.AtsInvalidationsTimeOut = true;
        host.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0 & ~8u); // CMDQEN off: the batch's wait times out
        var stalled = host.MainQueue.Issue([SmmuCommandBuilder.AtcInv(0x10, 0, ssv: false, global: false, address: 0, size: 52)], out int stalledIndex);
        host.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0); // back on: the ATC_INV runs, its sync fails
        bool erred = Poll.Until(() => host.Hardware.IsErrorActive(GlobalError.CMDQ_ERR));
        device.AtsInvalidationsTimeOut = false;

        var problems = IssueGoodBatches(host, 2 << Log2Entries);

        Assert.Multiple(() =>
        {
            Assert.That(stalled, Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(stalledIndex, Is.EqualTo(-1), "no command of the timed-out batch is named");
            Assert.That(erred, Is.True, "the timed-out batch's CMD_SYNC met CERROR_ATC_INV_SYNC");
            Assert.That(problems, Is.Empty);
            Assert.That(host.Hardware.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
        });
    }

    /// <summary>
    /// A batch with two illegal commands gets EIO at the first (both become CMD_SYNCs, spec §7.1 CERROR_ILL, as
    /// arm_smmu_cmdq_skip_err does), and neither error is left for the batches that reuse its slots after the queue
    /// wraps.
    /// </summary>
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_batch_with_two_illegal_commands_gets_EIO_once_and_leaves_nothing_for_later_batches(ExecutionMode mode)
    {
        using var provider = SmallQueue(mode, atsCapable: false);
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        var illegal = SmmuCommandBuilder.TlbiEl3All(); // a Secure command on the Non-secure queue (spec §4.1)

        var rc = host.MainQueue.Issue([SmmuCommandBuilder.TlbiNsnhAll(), illegal, SmmuCommandBuilder.TlbiNsnhAll(), illegal], out int failedIndex);
        var problems = IssueGoodBatches(host, 2 << Log2Entries);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.EIO));
            Assert.That(failedIndex, Is.EqualTo(1));
            Assert.That(problems, Is.Empty);
        });
    }

    /// <summary>
    /// A batch whose own ATC invalidation times out gets ETIMEDOUT at its CMD_SYNC; the one after it, and those that
    /// reuse its slots after the queue wraps, succeed.
    /// </summary>
    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void An_ATC_timeout_goes_to_its_own_batch_only(ExecutionMode mode)
    {
        using var provider = SmallQueue(mode, atsCapable: true);
        var host = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        var device = provider.GetRequiredService<IommufdHost>().Platform.GetDevice("nic");

        device.AtsInvalidationsTimeOut = true;
        var rc = host.MainQueue.Issue(
            [SmmuCommandBuilder.TlbiNsnhAll(), SmmuCommandBuilder.AtcInv(0x10, 0, ssv: false, global: false, address: 0, size: 52)],
            out int failedIndex);
        device.AtsInvalidationsTimeOut = false;
        var problems = IssueGoodBatches(host, 2 << Log2Entries);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(failedIndex, Is.EqualTo(2), "the CMD_SYNC");
            Assert.That(problems, Is.Empty);
        });
    }

    /// <summary>
    /// A 128-entry host queue. Inline, a CMD_SYNC completes before Issue returns, so a short timeout only costs the
    /// stalled wait; an engine thread on a loaded machine gets a long one.
    /// </summary>
    private static ServiceProvider SmallQueue(ExecutionMode mode, bool atsCapable) => new ServiceCollection()
        .AddIommufd(b => b
            .AddArmSmmuV3("smmu0", o =>
            {
                o.ExecutionMode = mode;
                o.HostQueueLog2Size = Log2Entries;
                o.SyncTimeout = TimeSpan.FromMilliseconds(mode == ExecutionMode.Inline ? 50 : 2000);
            })
            .AddDevice("nic", "smmu0", 0x10, atsCapable))
        .BuildIommufdServiceProvider();

    /// <summary>Issues <paramref name="batches"/> batches of one to three commands (2 to 4 entries with the sync); what went wrong with any.</summary>
    private static List<string> IssueGoodBatches(SmmuV3Host host, int batches)
    {
        var problems = new List<string>();
        var commands = new SmmuCommand[3];
        Array.Fill(commands, SmmuCommandBuilder.TlbiNsnhAll());
        for (int b = 0; b < batches; b++)
        {
            int n = 1 + (b % commands.Length);
            var rc = host.MainQueue.Issue(commands.AsSpan(0, n), out int failedIndex);
            if (rc != Errno.Success || failedIndex != -1)
            {
                problems.Add($"batch {b} of {n}: {rc} at {failedIndex}");
            }
        }

        return problems;
    }
}
