using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// The guest SMMU driver model on a bare emulated SMMUv3: probe and reset (Arm IHI 0070 §6.3; arm-smmu-v3.c
/// arm_smmu_device_reset()), STE and CD contents (IHI 0070 §5.2, §5.4), and DMA through the stage-1 tables it builds.
/// </summary>
[TestFixture]
public class GuestSmmuDriverTests
{
    private const uint Sid = 3;
    private const ushort Asid = 0x2A;
    private const ulong Va = 0x1234_5000;

    [Test]
    public void Probe_programs_the_tables_and_queues_and_enables_the_SMMU()
    {
        using var rig = new GuestRig();
        var smmu = rig.Smmu;
        ulong Reg(SmmuRegister r, int size = 4) => smmu.ReadRegister((uint)r, size);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Driver.Capabilities.Stage1, Is.True);
            Assert.That(Reg(SmmuRegister.CR0ACK), Is.EqualTo(0xDu), "CMDQEN | EVENTQEN | SMMUEN");
            Assert.That(Reg(SmmuRegister.IRQ_CTRLACK), Is.EqualTo(0x5u), "GERROR_IRQEN | EVENTQ_IRQEN");
            Assert.That(Reg(SmmuRegister.STRTAB_BASE, 8) & 0x000F_FFFF_FFFF_FFC0, Is.EqualTo(rig.Driver.StreamTableIpa));
            Assert.That(Reg(SmmuRegister.STRTAB_BASE_CFG), Is.EqualTo(8u), "linear, 256 STEs");
            Assert.That(smmu.CommandQueue.Address, Is.EqualTo(rig.Driver.Queue.BaseIpa));
            Assert.That(smmu.CommandQueue.Log2Size, Is.EqualTo(8));
            Assert.That(Reg(SmmuRegister.EVENTQ_BASE, 8) & 0x1F, Is.EqualTo(7ul));
            Assert.That(smmu.CommandQueue.Consumed, Is.EqualTo(3), "CFGI_ALL, TLBI_NSNH_ALL and their CMD_SYNC");
            Assert.That(rig.Driver.Queue.Statistics.Syncs, Is.EqualTo(1));
        }
    }

    [Test]
    public void An_SMMU_without_stage_1_is_refused_at_probe()
    {
        var features = new SmmuV3Features { Stage1 = false, Stage2 = true };

        Assert.That(() => new GuestRig(features), Throws.TypeOf<NotSupportedException>().With.Message.Contains("S1P"));
    }

    [Test]
    public void A_device_that_was_never_attached_is_blocked_without_an_event()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);

        var status = rig.DmaRead(Sid, Va, out _);

        Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
        Assert.That(rig.Driver.ReadEvents(), Is.Empty, "an abort STE, not an invalid one (which would be C_BAD_STE)");
    }

    [Test]
    public void Attach_writes_an_S1_translate_STE_pointing_at_a_CD_with_the_requested_fields()
    {
        using var rig = new GuestRig();

        bool synced = rig.Driver.AttachDevice(Sid, Asid, ats: true);

        var ste = StreamTableEntry.Read(rig.Ram.Bytes(rig.Driver.StreamTableIpa + (Sid * 64), 32));
        var cd = ContextDescriptor.Read(rig.Ram.Bytes(ste.S1ContextPtr, 32));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(synced, Is.True);
            Assert.That(ste.Valid, Is.True);
            Assert.That(ste.Config, Is.EqualTo(StreamTableEntry.ConfigS1Translate));
            Assert.That(ste.S1CdMax, Is.Zero);
            Assert.That(ste.S1Dss, Is.Zero);
            Assert.That(ste.Eats, Is.EqualTo(1ul));
            Assert.That(ConfigurationValidity.CdIllegal(ste, cd, new SmmuV3Features()), Is.False, "not ILLEGAL (IHI 0070 §5.4.2)");
            Assert.That(cd.T0sz, Is.EqualTo(16));
            Assert.That(cd.Tg0, Is.Zero, "4K");
            Assert.That(cd.Record, Is.True);
            Assert.That(cd.Asid, Is.EqualTo(Asid));
            Assert.That(cd.Ttb0, Is.EqualTo(rig.Driver.GetPageTable(Sid)!.Root));
            Assert.That(rig.Smmu.CommandQueue.Consumed, Is.EqualTo(3 + 2), "reset batch, then CFGI_STE and its CMD_SYNC");
        }
    }

    [Test]
    public void Attach_and_map_let_the_device_read_and_write_guest_memory_through_stage_1()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);
        ulong page = rig.DataPages(0x5A);
        rig.Driver.AttachDevice(Sid, Asid);

        rig.Driver.Map(Sid, Va, page, 4096, IommuProtection.Read | IommuProtection.Write);
        var read = rig.DmaRead(Sid, Va + 0x100, out var data);
        var write = rig.DmaWrite(Sid, Va + 0x200, 0xC3);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(data, Is.All.EqualTo((byte)0x5A));
            Assert.That(write, Is.EqualTo(DmaStatus.Ok));
            Assert.That(rig.Ram.Bytes(page + 0x200, 16).ToArray(), Is.All.EqualTo((byte)0xC3));
        }
    }

    [Test]
    public void A_read_only_mapping_refuses_DMA_writes_and_records_a_permission_fault()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);
        ulong page = rig.DataPages(0x11);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, page, 4096, IommuProtection.Read);

        var write = rig.DmaWrite(Sid, Va, 0xEE);

        Assert.That(write, Is.EqualTo(DmaStatus.PermissionFault));
        Assert.That(rig.Driver.ReadEvents().Select(e => e.Id), Is.EqualTo(new[] { SmmuEventId.F_PERMISSION }));
    }

    [Test]
    public void Detach_blocks_DMA_and_drops_the_ASIDs_IOTLB_entries()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, rig.DataPages(1), 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);
        int cachedBefore = rig.Smmu.Iotlb.Snapshot().Count(e => e.Asid == Asid);

        bool detached = rig.Driver.DetachDevice(Sid);
        var after = rig.DmaRead(Sid, Va, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cachedBefore, Is.EqualTo(1));
            Assert.That(detached, Is.True);
            Assert.That(after, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(rig.Smmu.Iotlb.Snapshot().Where(e => e.Asid == Asid), Is.Empty);
            Assert.That(rig.Driver.IsAttached(Sid), Is.False);
            Assert.That(rig.Driver.DetachDevice(Sid), Is.False, "already detached");
        }
    }

    [Test]
    public void Attaching_an_attached_device_again_is_refused()
    {
        using var rig = new GuestRig();
        rig.Driver.AttachDevice(Sid, Asid);

        Assert.That(() => rig.Driver.AttachDevice(Sid, (ushort)(Asid + 1)), Throws.InvalidOperationException);
    }
}
