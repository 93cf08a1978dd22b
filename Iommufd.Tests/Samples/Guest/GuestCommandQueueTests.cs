using System.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Guest;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// The guest's command queue: batches of at most (size − 1) commands plus a CMD_SYNC, and command errors handled as
/// a host driver handles them (arm-smmu-v3.c arm_smmu_cmdq_skip_err()) — CERROR_ILL skipped by overwriting the entry
/// with a CMD_SYNC, CERROR_ATC_INV_SYNC left to run again — each recorded and acknowledged through GERRORN.
/// </summary>
[TestFixture]
public class GuestCommandQueueTests
{
    private const uint Sid = 9;
    private const ushort Asid = 0x77;
    private const ulong Va = 0x8000_0000;

    [Test]
    public void A_command_the_SMMU_refuses_is_recorded_at_its_index_replaced_by_CMD_SYNC_and_the_queue_continues()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x21), 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);
        rig.Driver.GetPageTable(Sid)!.Unmap(Va, 4096); // only the TLBI after the bad command can now make DMA fault
        var queue = rig.Driver.Queue;
        uint consBefore = rig.Smmu.CommandQueue.Cons;

        // TLBI_EL2_ALL is CERROR_ILL on an SMMU without IDR0.HYP (Arm IHI 0070 §4.4).
        bool completed = queue.Submit([TlbiNhAsid(0, 0x99), TlbiEl2All(), TlbiNhVa(0, Asid, Va, leaf: true, 0, 0, 0, 0)]);

        var failure = queue.Statistics.Failures.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.True);
            Assert.That(failure.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(failure.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL2_ALL));
            Assert.That(failure.CommandIndex, Is.EqualTo(1));
            Assert.That(failure.QueueIndex, Is.EqualTo(consBefore + 1));
            Assert.That(queue.Statistics.Errors(CommandError.CERROR_ILL), Is.EqualTo(1));
            Assert.That(SmmuCommand.Read(rig.Ram.Bytes(queue.BaseIpa + ((consBefore + 1) * 16), 16)).Opcode, Is.EqualTo(SmmuOpcode.CMD_SYNC),
                "the failing entry was overwritten with a CMD_SYNC");
            Assert.That(rig.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False, "acknowledged through GERRORN");
            Assert.That(rig.Smmu.CommandQueue.Cons, Is.EqualTo(consBefore + 4), "all four entries consumed");
            Assert.That(rig.DmaRead(Sid, Va, out _), Is.EqualTo(DmaStatus.TranslationFault), "the TLBI after the bad command ran");
        }
    }

    [Test]
    public void A_hand_made_reserved_opcode_is_skipped_the_same_way()
    {
        using var rig = new GuestRig();

        bool completed = rig.Driver.Queue.Submit([new SmmuCommand(0x7F, 0), TlbiNsnhAll()]);

        Assert.That(completed, Is.True);
        Assert.That(rig.Driver.Queue.Statistics.Failures.Select(f => (f.Error, (byte)f.Opcode, f.CommandIndex)),
            Is.EqualTo(new[] { (CommandError.CERROR_ILL, (byte)0x7F, 0) }));
    }

    [Test]
    public void A_stuck_ATC_invalidation_is_recorded_as_CERROR_ATC_INV_SYNC_and_the_driver_recovers()
    {
        using var rig = new GuestRig();
        var device = rig.Connect(Sid, ats: true);
        rig.Driver.AttachDevice(Sid, Asid, ats: true);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x5C, 2), 2 * 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);
        device.AtsInvalidationsTimeOut = true;

        bool stuckUnmap = rig.Driver.Unmap(Sid, Va, 4096);
        var failures = rig.Driver.Queue.Statistics.Failures;
        device.AtsInvalidationsTimeOut = false;
        rig.DmaRead(Sid, Va + 4096, out _);
        bool laterUnmap = rig.Driver.Unmap(Sid, Va + 4096, 4096);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stuckUnmap, Is.True, "the CMD_SYNC ran again after the acknowledgement and completed");
            Assert.That(failures.Select(f => (f.Error, f.Opcode, f.CommandIndex)), Is.EqualTo(new[] { (CommandError.CERROR_ATC_INV_SYNC, SmmuOpcode.CMD_SYNC, -1) }));
            Assert.That(rig.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
            Assert.That(laterUnmap, Is.True);
            Assert.That(rig.Driver.Queue.Statistics.TotalErrors, Is.EqualTo(1), "no new error once the device answers");
            Assert.That(rig.Smmu.CommandQueue.IsEmpty, Is.True);
            Assert.That(rig.DmaRead(Sid, Va + 4096, out _), Is.EqualTo(DmaStatus.TranslationFault));
        }
    }

    [Test]
    public void A_submission_larger_than_the_queue_is_issued_in_batches_of_size_minus_one_each_with_a_CMD_SYNC()
    {
        using var rig = new GuestRig(options: new GuestSmmuOptions { CommandQueueLog2Entries = 3 });
        var queue = rig.Driver.Queue;
        long consumedBefore = rig.Smmu.CommandQueue.Consumed;
        long batchesBefore = queue.Statistics.Batches;
        var commands = Enumerable.Range(0, 20).Select(i => TlbiNhAsid(0, (ushort)i)).ToArray();

        bool completed = queue.Submit(commands);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.True);
            Assert.That(queue.MaxBatchCommands, Is.EqualTo(7));
            Assert.That(queue.Statistics.Batches - batchesBefore, Is.EqualTo(3), "7 + 7 + 6");
            Assert.That(rig.Smmu.CommandQueue.Consumed - consumedBefore, Is.EqualTo(20 + 3));
            Assert.That(queue.Statistics.Commands, Is.EqualTo(2 + 20), "the reset's two commands, then these");
            Assert.That(rig.Smmu.CommandQueue.IsEmpty, Is.True);
        }
    }

    [Test]
    public void A_sync_the_SMMU_never_sees_is_reported_as_a_timeout_after_the_configured_bound()
    {
        using var rig = new GuestRig(options: new GuestSmmuOptions { SyncTimeout = TimeSpan.FromMilliseconds(50) });
        rig.Mmio.DropCommandQueueDoorbell = true;
        var watch = Stopwatch.StartNew();

        bool completed = rig.Driver.Queue.Submit([TlbiNsnhAll()]);

        watch.Stop();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.False);
            Assert.That(rig.Driver.Queue.Statistics.SyncTimeouts, Is.EqualTo(1));
            Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50)), "not before the bound");
        }
    }

    [Test]
    public void An_error_that_is_never_cleared_ends_in_a_timeout_rather_than_a_hang()
    {
        using var rig = new GuestRig(options: new GuestSmmuOptions { SyncTimeout = TimeSpan.FromMilliseconds(50) });
        rig.Mmio.DropGerrornWrites = true;

        bool completed = rig.Driver.Queue.Submit([TlbiEl2All()]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.False);
            Assert.That(rig.Driver.Queue.Statistics.SyncTimeouts, Is.EqualTo(1));
            Assert.That(rig.Driver.Queue.Statistics.Errors(CommandError.CERROR_ILL), Is.GreaterThanOrEqualTo(1));
        }
    }

    [Test]
    public void Statistics_print_the_counters_a_VMM_sample_shows()
    {
        using var rig = new GuestRig();
        rig.Driver.Queue.Submit([TlbiEl2All()]);

        string text = rig.Driver.Queue.Statistics.ToString();

        Assert.That(text, Does.Contain("commands=3").And.Contain("syncs=2").And.Contain("ILL=1"));
        Assert.That(rig.Driver.Queue.Statistics.Failures.Single().ToString(), Does.Contain("CERROR_ILL").And.Contain("command 0"));
    }
}
