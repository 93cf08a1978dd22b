using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Tests.Stress;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// Host invalidations and VINTF0 (tegra241-cmdqv.c tegra241_cmdqv_get_cmdq()): <see cref="SmmuV3Host.Issue"/> checks
/// every command of a list against VINTF0's LVCMDQ and sends what it cannot take to the main queue, each run synced
/// before the next. Hardware backend only: the software CMDQV has no host queues.
/// </summary>
public class HostQueueSplitTests
{
    private const ulong Va = 0x10_0000;
    private const ushort Asid = 3;

    [Test]
    public void With_HYP_OWN_every_host_command_goes_to_a_VINTF0_queue_and_takes_effect()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, o => o.HostVintfHypOwn = true);
        using var a = new CmdqvGuest(rig, "a", 1, Asid);
        a.MapAndTouch(Va, 2);
        var (hostBefore, mainBefore) = Batches(rig);

        var rc = rig.Smmu.Issue([SmmuCommandBuilder.CfgiSte(CmdqvRig.SidA, leaf: true), SmmuCommandBuilder.TlbiNhAsid(a.Vmid, Asid)], out int completed);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(completed, Is.EqualTo(2));
            Assert.That(Batches(rig).Host - hostBefore, Is.EqualTo(1), "one batch on VINTF0");
            Assert.That(Batches(rig).Main - mainBefore, Is.Zero, "nothing on the main queue");
            Assert.That(rig.Hardware.ConfigCache.TryGetSte(CmdqvRig.SidA, out _), Is.False, "CFGI_STE took effect");
            Assert.That(a.Iotlb, Is.Empty, "TLBI_NH_ASID took effect with the host's VMID");
        });
    }

    [Test]
    public void With_HYP_OWN_read_back_as_0_a_mixed_list_is_split_per_command_in_order_and_every_command_takes_effect()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, o => o.HostVintfHypOwn = false);
        using var a = new CmdqvGuest(rig, "a", 1, Asid);
        using var b = new CmdqvGuest(rig, "b", 1, Asid);
        a.MapAndTouch(Va, 2);
        b.MapAndTouch(Va, 2);

        // Stage-1 entries of VMID 0 (VINTF0's VMID): the only TLBIs VINTF0's replacement leaves as they are.
        foreach (var (asid, va) in new[] { (7, 0x20_0000UL), (7, 0x20_1000UL), (8, 0x20_0000UL), (9, 0x20_2000UL) })
        {
            rig.Hardware.Iotlb.Insert(new TlbEntry(0, asid, TlbStage.Stage1, va, 12, 3, 0x9000_0000, true, true));
        }

        SmmuCommand[] list =
        [
            SmmuCommandBuilder.CfgiSte(CmdqvRig.SidA, leaf: true),                                   // main
            SmmuCommandBuilder.TlbiNhAsid(0, 7),                                                     // VINTF0
            SmmuCommandBuilder.TlbiNhVa(0, 9, 0x20_2000, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0), // VINTF0
            SmmuCommandBuilder.CfgiSte(CmdqvRig.SidB, leaf: true),                                   // main
            SmmuCommandBuilder.TlbiNhAsid(a.Vmid, Asid),                                             // main: VINTF0 would make it VMID 0
            SmmuCommandBuilder.AtcInv(CmdqvRig.SidB, 0, ssv: false, global: false, address: 0, size: 52), // main: VINTF0 has no pair for it
            SmmuCommandBuilder.TlbiNhAsid(0, 8),                                                     // VINTF0
        ];
        var (hostBefore, mainBefore) = Batches(rig);
        var hostProd = rig.Implementation.HostQueues.Select(q => q.Queue.Prod).ToArray();
        uint mainProd = rig.Smmu.MainQueue.Queue.Prod;

        var rc = rig.Smmu.Issue(list, out int completed);

        int used = Enumerable.Range(0, hostProd.Length).Single(i => rig.Implementation.HostQueues[i].Queue.Prod != hostProd[i]);
        var onHost = Entries(rig.Implementation.HostQueues[used].Queue, hostProd[used]);
        var onMain = Entries(rig.Smmu.MainQueue.Queue, mainProd);
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(completed, Is.EqualTo(list.Length));
            Assert.That(Batches(rig).Host - hostBefore, Is.EqualTo(2), "two runs on VINTF0");
            Assert.That(Batches(rig).Main - mainBefore, Is.EqualTo(2), "two runs on the main queue");
            Assert.That(onHost, Is.EqualTo(new[] { list[1], list[2], Sync, list[6], Sync }), "VINTF0's queue, in list order");
            Assert.That(onMain, Is.EqualTo(new[] { list[0], Sync, list[3], list[4], list[5], Sync }), "the main queue, in list order");
            Assert.That(rig.Hardware.ConfigCache.TryGetSte(CmdqvRig.SidA, out _), Is.False, "CFGI_STE of A took effect");
            Assert.That(rig.Hardware.ConfigCache.TryGetSte(CmdqvRig.SidB, out _), Is.False, "CFGI_STE of B took effect");
            Assert.That(rig.IotlbOf(0), Is.Empty, "the VMID-0 TLBIs on VINTF0 took effect");
            Assert.That(a.Iotlb, Is.Empty, "the TLBI for A's VMID took effect");
            Assert.That(b.Iotlb, Has.Count.EqualTo(2), "B's TLB entries were not named");
            Assert.That(b.AtcCount, Is.Zero, "the ATC_INV took effect");
            Assert.That(a.AtcCount, Is.EqualTo(2));
        });
    }

    [Test]
    public void With_HYP_OWN_read_back_as_0_a_guests_trap_path_invalidation_still_hits_its_VMID_and_device()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, o => o.HostVintfHypOwn = false);
        using var a = new CmdqvGuest(rig, "a", 1, Asid);
        a.MapAndTouch(Va, 2);
        var entries = new byte[32];
        SmmuCommandBuilder.TlbiNhAsid(0, Asid).Write(entries);
        SmmuCommandBuilder.AtcInv(1, 0, ssv: false, global: false, address: 0, size: 52).Write(entries.AsSpan(16));
        uint entryNum = 2;

        var rc = a.File.HwptInvalidate(a.ViommuId, (uint)Iommufd.Core.Uapi.IommuHwptInvalidateDataType.ViommuArmSmmuV3, 16, entries, ref entryNum);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(entryNum, Is.EqualTo(2u));
            Assert.That(a.Iotlb, Is.Empty, "the TLBI hit the VM's VMID, not VINTF0's");
            Assert.That(a.AtcCount, Is.Zero, "the ATC_INV reached the device");
        });
    }

    [Test]
    public void With_bypass_every_host_command_goes_to_the_main_queue()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, o => o.BypassHostVcmdq = true);
        using var a = new CmdqvGuest(rig, "a", 1, Asid);
        a.MapAndTouch(Va, 2);
        var (hostBefore, mainBefore) = Batches(rig);

        var rc = rig.Smmu.Issue([SmmuCommandBuilder.TlbiNhAsid(a.Vmid, Asid)], out _);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(Batches(rig).Host - hostBefore, Is.Zero);
            Assert.That(Batches(rig).Main - mainBefore, Is.EqualTo(1));
            Assert.That(a.Iotlb, Is.Empty);
        });
    }

    [Test]
    public void A_run_longer_than_63_commands_for_VINTF0_is_issued_in_batches_of_63()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware);
        using var a = new CmdqvGuest(rig, "a", 1, Asid);
        a.MapAndTouch(Va, 2);
        var list = Enumerable.Repeat(SmmuCommandBuilder.TlbiNhAsid(a.Vmid, Asid + 1), 100).Append(SmmuCommandBuilder.TlbiNhAsid(a.Vmid, Asid)).ToArray();
        var (hostBefore, _) = Batches(rig);

        var rc = rig.Smmu.Issue(list, out int completed);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(completed, Is.EqualTo(101));
            Assert.That(Batches(rig).Host - hostBefore, Is.EqualTo(2), "63 + 38");
            Assert.That(a.Iotlb, Is.Empty, "the last command ran too");
        });
    }

    /// <summary>
    /// Host invalidations from four threads at once, each on the VINTF0 queue of the CPU it runs on (the queues are
    /// consumed at the same time, on different cores): every TLBI has taken effect when its issue returns, and the SMMU
    /// counts every CMD_SYNC once however many queues complete them together.
    /// </summary>
    [Test]
    public void Host_invalidations_from_four_threads_on_VINTF0_queues_each_take_effect_before_their_issue_returns()
    {
        const int Threads = 4, Rounds = 300;
        int seed = StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        using var rig = new CmdqvRig(VcmdqBackend.Hardware);
        var tlb = rig.Hardware.Iotlb;
        long syncsBefore = rig.Hardware.SyncsCompleted;
        var (hostBefore, mainBefore) = Batches(rig);
        var problems = new string?[Threads];
        var issuers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var random = new Random(seed + t);
            ushort vmid = (ushort)(t + 1);
            for (int round = 0; round < Rounds && problems[t] is null; round++)
            {
                ulong va = (ulong)random.Next(1, 1 << 20) << 12;
                tlb.Insert(new TlbEntry(vmid, Asid, TlbStage.Stage1, va, 12, 3, 0x9000_0000, true, true));
                var rc = rig.Smmu.Issue([SmmuCommandBuilder.TlbiNhVa(vmid, Asid, va, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0)], out int completed);
                if (rc != Errno.Success || completed != 1)
                {
                    problems[t] = $"round {round}: {rc}, {completed} completed";
                }
                else if (tlb.TryLookup(vmid, Asid, TlbStage.Stage1, va, out _))
                {
                    problems[t] = $"round {round}: VMID {vmid} VA {va:x} still cached after its TLBI returned";
                }
            }
        })).ToArray();
        foreach (var thread in issuers)
        {
            thread.Start();
        }

        foreach (var thread in issuers)
        {
            Assert.That(thread.Join(TimeSpan.FromSeconds(60)), Is.True, "no issuer hangs");
        }

        Assert.Multiple(() =>
        {
            Assert.That(problems, Is.All.Null);
            Assert.That(Batches(rig).Host - hostBefore, Is.EqualTo(Threads * Rounds), "every batch went to a VINTF0 queue");
            Assert.That(Batches(rig).Main - mainBefore, Is.Zero);
            Assert.That(rig.Hardware.SyncsCompleted - syncsBefore, Is.EqualTo(Threads * Rounds), "each batch's CMD_SYNC counted once");
            Assert.That(tlb.Count, Is.Zero);
        });
    }

    private static SmmuCommand Sync => SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_SEV);

    /// <summary>The entries a queue holds from <paramref name="from"/> up to its PROD.</summary>
    private static List<SmmuCommand> Entries(CommandQueue queue, uint from)
    {
        var entries = new List<SmmuCommand>();
        for (uint p = from; p != queue.Prod; p = queue.Advance(p, 1))
        {
            Assert.That(queue.TryReadEntry(p, out var c), Is.True);
            entries.Add(c);
        }

        return entries;
    }

    private static (long Host, long Main) Batches(CmdqvRig rig) =>
        (rig.Implementation.HostQueues.Sum(q => q.Batches), rig.Smmu.MainQueue.Batches);
}
