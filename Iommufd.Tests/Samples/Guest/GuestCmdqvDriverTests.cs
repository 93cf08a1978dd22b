using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Guest;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// The guest CMDQV driver model on a bare Tegra241 CMDQV: VINTF0 read back as guest-owned, LVCMDQ 0 brought up in
/// guest memory, and the command filter of a guest-owned VINTF (tegra241-cmdqv.c tegra241_guest_vcmdq_supports_cmd()) —
/// TLBI_NH_ASID, TLBI_NH_VA and ATC_INV to the VCMDQ, everything else to the SMMU's queue, in order.
/// </summary>
[TestFixture]
public class GuestCmdqvDriverTests
{
    private const uint Sid = 6;
    private const ushort Asid = 0x31;
    private const ulong Va = 0x7000_0000;

    [Test]
    public void The_driver_enables_the_CMDQV_VINTF0_and_LVCMDQ_0_and_reads_HYP_OWN_back_as_0()
    {
        using var g = new GuestCmdqvRig();
        var queue = g.Cmdqv.Queues[0];

        using (Assert.EnterMultipleScope())
        {
            Assert.That((g.Driver.Version, g.Driver.VintfCount, g.Driver.VcmdqCount, g.Driver.LvcmdqsPerVintf, g.Driver.SidPairsPerVintf),
                Is.EqualTo((1, 4, 16, 4, 16)), "from PARAM");
            Assert.That(g.Driver.HypOwn, Is.False);
            Assert.That(g.Path.GuestOwned, Is.True);
            Assert.That(g.Cmdqv.Enabled, Is.True);
            Assert.That(g.Cmdqv.Vintfs[0].Config, Is.EqualTo(CmdqvRegister.VINTF_CONFIG_EN), "the host's CONFIG was left alone");
            Assert.That(queue.Owner, Is.SameAs(g.Cmdqv.Vintfs[0]));
            Assert.That(queue.LogicalIndex, Is.Zero);
            Assert.That(queue.Queue.Base, Is.EqualTo(g.Driver.QueueIpa | 8));
            Assert.That(g.Driver.QueueIpa % 4096, Is.Zero, "aligned to its 4 KiB size");
            Assert.That(queue.Enabled, Is.True);
        }
    }

    [Test]
    public void A_VINTF0_the_guest_could_own_takes_every_command()
    {
        using var g = new GuestCmdqvRig(guestOwnedVintf: false);
        long smmuBefore = g.SmmuConsumed;

        bool completed = g.Path.Submit([CfgiSte(Sid, leaf: true), TlbiNsnhAll()]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(g.Driver.HypOwn, Is.True, "bare hardware keeps the HYP_OWN the driver asked for");
            Assert.That(g.Path.GuestOwned, Is.False);
            Assert.That(completed, Is.True);
            Assert.That(g.VcmdqConsumed, Is.EqualTo(3));
            Assert.That(g.SmmuConsumed, Is.EqualTo(smmuBefore));
        }
    }

    [Test]
    public void The_guests_TLBIs_go_to_its_VCMDQ_and_its_CFGI_STE_to_the_SMMU_queue()
    {
        using var g = new GuestCmdqvRig();
        var rig = g.Rig;
        rig.Connect(Sid);
        long smmuBefore = g.SmmuConsumed;

        rig.Driver.AttachDevice(Sid, Asid);
        long smmuAfterAttach = g.SmmuConsumed;
        long vcmdqAfterAttach = g.VcmdqConsumed;
        rig.Driver.Map(Sid, Va, rig.DataPages(0x66), 4096, IommuProtection.Read);
        var before = rig.DmaRead(Sid, Va, out _);
        bool unmapped = rig.Driver.Unmap(Sid, Va, 4096);
        var after = rig.DmaRead(Sid, Va, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(smmuAfterAttach - smmuBefore, Is.EqualTo(2), "CFGI_STE and CMD_SYNC on the SMMU queue");
            Assert.That(vcmdqAfterAttach, Is.Zero);
            Assert.That(before, Is.EqualTo(DmaStatus.Ok));
            Assert.That(unmapped, Is.True);
            Assert.That(g.VcmdqConsumed, Is.EqualTo(2), "TLBI_NH_VA and CMD_SYNC on the VCMDQ");
            Assert.That(g.SmmuConsumed, Is.EqualTo(smmuAfterAttach), "nothing more on the SMMU queue");
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault), "the VCMDQ's TLBI reached the IOTLB");
            Assert.That((g.Path.CommandsToFallback, g.Path.CommandsToVcmdq), Is.EqualTo((1L, 1L)));
            Assert.That(g.Cmdqv.Errors, Is.Zero);
        }
    }

    [Test]
    public void An_ATS_devices_ATC_INV_goes_to_the_VCMDQ_and_reaches_the_ATC_through_the_SID_pair()
    {
        using var g = new GuestCmdqvRig(sidPair: Sid);
        var rig = g.Rig;
        rig.Connect(Sid, ats: true);
        rig.Driver.AttachDevice(Sid, Asid, ats: true);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x67), 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);
        int atcBefore = rig.Smmu.GetAtc(Sid)!.Count;

        rig.Driver.Unmap(Sid, Va, 4096);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atcBefore, Is.EqualTo(1));
            Assert.That(rig.Smmu.GetAtc(Sid)!.Count, Is.Zero);
            Assert.That(g.VcmdqConsumed, Is.EqualTo(4), "TLBI_NH_VA + CMD_SYNC, then ATC_INV + CMD_SYNC");
            Assert.That(g.Path.Statistics.Failures, Is.Empty);
            Assert.That(rig.DmaRead(Sid, Va, out _), Is.EqualTo(DmaStatus.TranslationFault));
        }
    }

    [Test]
    public void A_mixed_batch_is_cut_at_every_change_of_queue_and_keeps_its_order()
    {
        var log = new List<(string Path, SmmuCommand[] Commands)>();
        var path = new VcmdqCommandPath(new RecordingPath("vcmdq", log), new RecordingPath("smmu", log));

        bool completed = path.Submit([
            TlbiNhVa(0, Asid, Va, leaf: true, 0, 0, 0, 0), TlbiNhAsid(0, Asid),
            CfgiSte(Sid, leaf: true), TlbiNhAll(0),
            AtcInv(Sid, 0, ssv: false, global: false, Va, 0),
            CmdSync(0),
            TlbiNhAsid(0, 2),
        ]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.True);
            Assert.That(log.Select(e => (e.Path, string.Join(",", e.Commands.Select(c => c.Opcode)))), Is.EqualTo(new[]
            {
                ("vcmdq", "TLBI_NH_VA,TLBI_NH_ASID"),
                ("smmu", "CFGI_STE,TLBI_NH_ALL"), // TLBI_NH_ALL is not for a guest VINTF, though it is a TLBI
                ("vcmdq", "ATC_INV"),
                ("vcmdq", "TLBI_NH_ASID"), // the caller's CMD_SYNC closed the run before it
            }));
            Assert.That(path.Runs, Is.EqualTo(4));
        }
    }

    [Test]
    public void Every_command_of_a_batch_is_checked_so_the_VCMDQ_never_sees_one_it_would_refuse()
    {
        using var g = new GuestCmdqvRig();
        long smmuBefore = g.SmmuConsumed;

        bool completed = g.Path.Submit([TlbiNhAsid(0, Asid), TlbiNhAll(0), TlbiNhVaa(0, Va, leaf: true, 0, 0, 0, 0), TlbiNhAsid(0, 3)]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.True);
            Assert.That(g.Cmdqv.Errors, Is.Zero);
            Assert.That(g.Path.Statistics.TotalErrors, Is.Zero);
            Assert.That(g.VcmdqConsumed, Is.EqualTo(2 + 2), "two runs of one TLBI_NH_ASID, each with its CMD_SYNC");
            Assert.That(g.SmmuConsumed - smmuBefore, Is.EqualTo(3), "TLBI_NH_ALL, TLBI_NH_VAA and a CMD_SYNC");
        }
    }

    [Test]
    public void A_command_the_VCMDQ_refuses_is_skipped_there_at_the_callers_index_and_acknowledged_through_its_GERRORN()
    {
        using var g = new GuestCmdqvRig();
        var rig = g.Rig;
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x68), 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);
        rig.Driver.GetPageTable(Sid)!.Unmap(Va, 4096);

        // No SID pair matches 99, so the VCMDQ refuses the ATC_INV (CERROR_ILL); the TLBI after it still runs.
        bool completed = g.Path.Submit([
            CfgiSte(Sid, leaf: true), TlbiNhAsid(0, 0x99),
            AtcInv(99, 0, ssv: false, global: false, Va, 0), TlbiNhVa(0, Asid, Va, leaf: true, 0, 0, 0, 0),
        ]);

        var failure = g.Path.Statistics.Failures.Single();
        var vcmdq = g.Cmdqv.Queues[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(completed, Is.True);
            Assert.That((failure.Queue, failure.Error, failure.Opcode, failure.CommandIndex), Is.EqualTo(("vcmdq0", CommandError.CERROR_ILL, SmmuOpcode.ATC_INV, 2)));
            Assert.That(vcmdq.ErrorActive, Is.False, "GERRORN = GERROR on the VCMDQ");
            Assert.That(g.Cmdqv.Vintfs[0].ErrorMap, Is.EqualTo(UInt128.Zero));
            Assert.That(g.Cmdqv.Errors, Is.EqualTo(1));
            Assert.That(rig.Driver.Queue.Statistics.Failures, Is.Empty, "the SMMU queue saw no error");
            Assert.That(rig.DmaRead(Sid, Va, out _), Is.EqualTo(DmaStatus.TranslationFault));
        }
    }
}
