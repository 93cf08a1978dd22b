using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// The host fix-up of a guest command runs in the host's own context (a per-CMDQV worker), not on the engine
/// threads every VM's VCMDQs share: the guest's queue stops on the command with nothing visible, another VM's
/// queue goes on while the host's main queue is stalled, and a queue destroyed under a held command is released
/// without a fault. Threaded hardware; waits are bounded polls, never timing assertions.
/// </summary>
[TestFixture]
public class HostFixupIsolationTests
{
    private const ulong Va = 0x10_0000;

    private static SmmuCommand Sync => SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE);

    [Test]
    public void A_fixup_waiting_on_a_stalled_main_queue_holds_only_its_own_queue_and_completes_when_the_SMMU_runs_again()
    {
        using var rig = ThreadedRig(TimeSpan.FromSeconds(60));
        using var a = new CmdqvGuest(rig, "a", 5, 3);
        using var c = new CmdqvGuest(rig, "c", 5, 3);
        using var b = new CmdqvGuest(rig, "b", 5, 3);
        a.MapAndTouch(Va, 1);
        b.MapAndTouch(Va, 1);
        var qa = a.AllocQueue(0);
        var qc = c.AllocQueue(0);
        var qb = b.AllocQueue(0);
        uint cr0 = StallMainQueue(rig);

        // Two VMs' fix-ups wait on the main queue: as many as the CMDQV has engine threads.
        qa.Submit(SmmuCommandBuilder.TlbiNhAll(0), Sync);
        qc.Submit(SmmuCommandBuilder.TlbiNhAll(0), Sync);
        Assert.That(Poll.Until(() => VcmdqOf(rig, a).Held && VcmdqOf(rig, c).Held), Is.True, "both queues stop on the command for the host");
        qb.Submit(TlbiVa(b.Asid, Va), Sync);
        bool bDrained = Poll.Until(() => qb.Drained);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bDrained, Is.True, "B's queue does not wait for A's fix-up");
            Assert.That(b.Cached(Va), Is.False, "and B's invalidation took effect");
            Assert.That(qa.Cons, Is.Zero, "A's CONS stays on the held command");
            Assert.That(qa.Error, Is.EqualTo(CommandError.CERROR_NONE), "with nothing visible to A");
            Assert.That(qa.ErrorActive, Is.False);
            Assert.That(rig.Cmdqv.Vintfs[a.VintfIndex].ErrorMap, Is.EqualTo(UInt128.Zero));
        }

        rig.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0); // the SMMU consumes again
        bool aDrained = Poll.Until(() => qa.Drained && qc.Drained);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(aDrained, Is.True);
            Assert.That(qa.ErrorActive || qc.ErrorActive, Is.False);
            Assert.That(rig.Implementation.Fixups, Is.EqualTo(2));
            Assert.That(a.Cached(Va), Is.False, "the host ran A's TLBI_NH_ALL with A's VMID");
            Assert.That(rig.Cmdqv.Faults, Is.Zero);
        }
    }

    [Test]
    public void A_queue_destroyed_while_the_host_runs_its_held_command_is_released_without_a_fault_and_can_be_allocated_again()
    {
        using var rig = ThreadedRig(TimeSpan.FromMilliseconds(200));
        using var a = new CmdqvGuest(rig, "a", 5, 3);
        a.MapAndTouch(Va, 1);
        var q = a.AllocQueue(0);
        uint cr0 = StallMainQueue(rig);

        q.Submit(SmmuCommandBuilder.TlbiNhAll(0), Sync);
        Assert.That(Poll.Until(() => VcmdqOf(rig, a).Held), Is.True);
        var destroyed = a.File.Destroy(q.HwQueueId); // its flush times out on the stalled SMMU; the fix-up too
        rig.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0);
        var again = a.AllocQueue(0);
        again.Submit(TlbiVa(a.Asid, Va), Sync);
        bool drained = Poll.Until(() => again.Drained);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(destroyed, Is.EqualTo(Errno.Success));
            Assert.That(drained, Is.True, "the new queue starts afresh: nothing held from before");
            Assert.That(again.ErrorActive, Is.False);
            Assert.That(rig.Cmdqv.Faults, Is.Zero, "no exception on any engine or worker thread");
            Assert.That(rig.Hardware.CommandQueueBroken, Is.False);
        }
    }

    [Test]
    public void Disposing_the_provider_stops_the_SMMU_CMDQV_and_fixup_engine_threads()
    {
        long before = QueueEngine.LiveThreads;
        var rig = ThreadedRig(TimeSpan.FromSeconds(1));
        long running = QueueEngine.LiveThreads;

        rig.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(running, Is.EqualTo(before + 4), "one SMMU engine thread, two CMDQV engine threads, one fix-up worker");
            Assert.That(QueueEngine.LiveThreads, Is.EqualTo(before));
        }
    }

    private static CmdqvRig ThreadedRig(TimeSpan syncTimeout) =>
        new(VcmdqBackend.Hardware, o => o.HostFixup = true, o =>
        {
            o.ExecutionMode = ExecutionMode.Threaded;
            o.SyncTimeout = syncTimeout;
        });

    /// <summary>CMDQEN off: the SMMU stops consuming its main queue (the CMDQV's queues are not affected).</summary>
    private static uint StallMainQueue(CmdqvRig rig)
    {
        uint cr0 = (uint)rig.Hardware.ReadRegister((uint)SmmuRegister.CR0);
        rig.Hardware.WriteRegister((uint)SmmuRegister.CR0, cr0 & ~8u);
        return cr0;
    }

    private static Vcmdq VcmdqOf(CmdqvRig rig, CmdqvGuest guest) => rig.Cmdqv.Vintfs[guest.VintfIndex].Lvcmdqs[0]!;

    private static SmmuCommand TlbiVa(ushort asid, ulong va) =>
        SmmuCommandBuilder.TlbiNhVa(vmid: 0, asid: asid, address: va, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0);
}
