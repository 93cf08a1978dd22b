using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Tests.ArmSmmuV3.Isolation;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// <see cref="SmmuV3Diagnostics"/> observes the SMMU through the public surface only: what a DMA put in the IOTLB and
/// the configuration cache, what an invalidation took away, the queue registers the host moved, the STE in the stream
/// table and the VMID behind each vIOMMU; and what it returned stays as it was.
/// </summary>
[TestFixture]
public class SmmuV3DiagnosticsTests
{
    private const uint Sid = 0x10;
    private const ushort Asid = 3;
    private const ulong Va = 0x1000_0000;

    [Test]
    public void A_DMA_puts_its_translation_in_the_IOTLB_snapshot_and_TLBI_NH_VA_takes_it_out()
    {
        using var provider = Provider();
        var (host, diagnostics) = Resolve(provider);
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: Asid);
        ushort vmid = diagnostics.Viommus().Single().Vmid;

        guest.MapAndTouch(Va, 1);
        var filled = diagnostics.IotlbEntries();
        var rc = guest.Invalidate([SmmuCommandBuilder.TlbiNhVa(0, Asid, Va, leaf: true, 0, 0, 0, 0)], out uint entryNum);
        var emptied = diagnostics.IotlbEntries();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(filled.Where(e => e.InputBase == Va).Select(e => (e.Vmid, e.Asid, e.Stage, e.Shift)),
                Is.EqualTo(new[] { (vmid, (int)Asid, TlbStage.Nested, 12) }), "the nested translation, tagged with the vIOMMU's VMID");
            Assert.That((rc, entryNum), Is.EqualTo((Errno.Success, 1u)));
            Assert.That(emptied.Any(e => e.InputBase <= Va && Va <= e.InputLast), Is.False, "TLBI_NH_VA removed it");
            Assert.That(filled.Any(e => e.InputBase == Va), Is.True, "the earlier snapshot is a copy, not a live view");
        }
    }

    [Test]
    public void The_VMID_of_each_vIOMMU_is_the_S2VMID_of_the_nested_STE_in_the_stream_table()
    {
        using var provider = Provider();
        var (host, diagnostics) = Resolve(provider);
        using var a = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: Asid);
        using var b = new SmmuGuest(host, host.Platform.GetDevice("b"), vsid: 7, asid: Asid);

        var viommus = diagnostics.Viommus();
        var steA = diagnostics.ReadSte(Sid);
        var steB = diagnostics.ReadSte(Sid + 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(viommus.Select(v => v.Type), Is.EqualTo(new[] { IommuViommuType.ArmSmmuV3, IommuViommuType.ArmSmmuV3 }));
            Assert.That(viommus[0].Vmid, Is.Not.EqualTo(viommus[1].Vmid), "each VM has its own VMID");
            Assert.That(steA?.Config, Is.EqualTo(StreamTableEntry.ConfigNested));
            Assert.That(steA?.S2Vmid, Is.EqualTo(viommus[0].Vmid), "a's STE carries a's vIOMMU VMID");
            Assert.That(steB?.S2Vmid, Is.EqualTo(viommus[1].Vmid), "b's STE carries b's vIOMMU VMID");
        }
    }

    [Test]
    public void A_vIOMMU_leaves_the_list_when_its_file_closes_and_the_device_STE_aborts_again()
    {
        using var provider = Provider();
        var (host, diagnostics) = Resolve(provider);
        var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: Asid);
        guest.MapAndTouch(Va, 1);
        bool cachedBefore = diagnostics.CachedStes().Any(s => s.StreamId == Sid);

        guest.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cachedBefore, Is.True, "the DMA fetched the STE into the configuration cache");
            Assert.That(diagnostics.Viommus(), Is.Empty);
            Assert.That(diagnostics.ReadSte(Sid)?.Config, Is.EqualTo(StreamTableEntry.ConfigAbort), "detached: an aborting STE");
            Assert.That(diagnostics.CachedStes().Any(s => s.StreamId == Sid), Is.False, "the host's CFGI_STE removed the cached copy");
        }
    }

    [Test]
    public void The_configuration_cache_holds_the_STE_of_the_table_and_the_guest_CD_a_DMA_used()
    {
        using var provider = Provider();
        var (host, diagnostics) = Resolve(provider);
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: Asid);

        guest.MapAndTouch(Va, 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(diagnostics.CachedStes().Where(s => s.StreamId == Sid).Select(s => (StreamTableEntry?)s.Ste),
                Is.EqualTo(new[] { diagnostics.ReadSte(Sid) }), "the cached STE is the one in the table");
            Assert.That(diagnostics.CachedCds().Select(c => (c.StreamId, c.SubstreamId, c.Cd.Asid)),
                Is.EqualTo(new[] { (Sid, 0u, Asid) }), "the guest's CD for substream 0");
        }
    }

    [Test]
    public void The_command_queue_registers_move_by_the_batch_and_its_CMD_SYNC_and_the_event_queue_by_one_record()
    {
        using var provider = Provider();
        var (host, diagnostics) = Resolve(provider);
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 7, asid: Asid);
        var cmdqBefore = diagnostics.CommandQueue();
        var evtqBefore = diagnostics.EventQueue();

        Assert.That(guest.Invalidate([SmmuCommandBuilder.TlbiNhAsid(0, Asid), SmmuCommandBuilder.TlbiNhAsid(0, (ushort)(Asid + 1))], out _), Is.EqualTo(Errno.Success));
        var fault = guest.Device.DmaRead(0x7000_0000, new byte[4]); // nothing mapped: a stage-1 F_TRANSLATION (CD.R = 1)
        var cmdq = diagnostics.CommandQueue();
        var evtq = diagnostics.EventQueue();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cmdq.Log2Size, Is.EqualTo(new SmmuV3InstanceOptions().HostQueueLog2Size));
            Assert.That(cmdq.Address, Is.Not.Zero);
            Assert.That(Distance(cmdqBefore.Prod, cmdq.Prod, cmdq.Log2Size), Is.EqualTo(3), "two TLBIs and the host's CMD_SYNC");
            Assert.That((cmdq.IsEmpty, cmdq.Error), Is.EqualTo((true, CommandError.CERROR_NONE)), "all consumed, no error");
            Assert.That(fault, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(Distance(evtqBefore.Prod, evtq.Prod, evtq.Log2Size), Is.EqualTo(1), "one event record");
            Assert.That(evtq.IsEmpty, Is.True, "the host read it");
            Assert.That(diagnostics.ActiveGlobalErrors(), Is.EqualTo(GlobalError.None));
        }
    }

    [Test]
    public void ReadSte_is_null_where_the_stream_table_has_no_STE()
    {
        using var small = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => o.Features = new SmmuV3Features { SidBits = 8 }).AddDevice("a", "smmu0", streamId: Sid))
            .BuildServiceProvider();
        using var large = Provider();
        var linear = SmmuV3Diagnostics.For(small.GetRequiredService<IommufdHost>().Platform.Iommus.Single());
        var twoLevel = SmmuV3Diagnostics.For(large.GetRequiredService<IommufdHost>().Platform.Iommus.Single());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(linear.ReadSte(Sid)?.Config, Is.EqualTo(StreamTableEntry.ConfigAbort), "probed, not attached");
            Assert.That(linear.ReadSte(0x100), Is.Null, "beyond 8 StreamID bits");
            Assert.That(twoLevel.ReadSte(0x5000), Is.Null, "no level-2 array for a span without a probed device");
        }
    }

    [Test]
    public void For_refuses_an_instance_that_is_not_an_SMMUv3()
    {
        var other = new Mock<IIommuInstance>();
        other.SetupGet(i => i.Name).Returns("mock0");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => SmmuV3Diagnostics.For(other.Object), Throws.ArgumentException.With.Message.Contains("mock0"));
            Assert.That(SmmuV3Diagnostics.TryGet(other.Object, out var none), Is.False);
            Assert.That(none, Is.Null);
            Assert.That(SmmuV3Diagnostics.TryGet(null, out _), Is.False);
        }
    }

    private static ServiceProvider Provider() => new ServiceCollection()
        .AddIommufd(b => b.AddArmSmmuV3("smmu0")
            .AddDevice("a", "smmu0", streamId: Sid)
            .AddDevice("b", "smmu0", streamId: Sid + 1))
        .BuildServiceProvider();

    private static (IommufdHost Host, SmmuV3Diagnostics Diagnostics) Resolve(ServiceProvider provider)
    {
        var host = provider.GetRequiredService<IommufdHost>();
        return (host, SmmuV3Diagnostics.For(host.Platform.Iommus.Single()));
    }

    /// <summary>How far a queue index moved, wrap bit included.</summary>
    private static uint Distance(uint from, uint to, int log2Size)
    {
        uint mask = (2u << log2Size) - 1;
        return ((to & mask) - (from & mask)) & mask;
    }
}
