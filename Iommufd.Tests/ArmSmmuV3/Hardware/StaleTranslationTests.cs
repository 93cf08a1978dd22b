using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// The caches DMA really hits keep serving after software changed the tables in memory, until the matching
/// invalidation and a CMD_SYNC (spec §3.21, §4.3, §4.4, §4.5): the IOTLB (stage 1 and nested), the configuration
/// cache (STE and CD), and an ATS endpoint's ATC.
/// </summary>
[TestFixture]
public class StaleTranslationTests
{
    private const uint Sid = 4;
    private const ushort Asid = 0x2A;
    private const ulong Iova = 0x1234_5000;

    [Test]
    public void Stage_1_DMA_reads_and_writes_the_mapped_page()
    {
        using var bench = new SmmuTestBench();
        var (_, page) = MapStage1(bench, 0x5A);

        var readStatus = bench.DmaRead(Sid, Iova + 0x100, out var data);
        var writeStatus = bench.DmaWrite(Sid, Iova + 0x200, 0xC3, 16);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(readStatus, Is.EqualTo(DmaStatus.Ok));
            Assert.That(data, Is.All.EqualTo((byte)0x5A));
            Assert.That(writeStatus, Is.EqualTo(DmaStatus.Ok));
            Assert.That(page.Span.Slice(0x200, 16).ToArray(), Is.All.EqualTo((byte)0xC3));
            Assert.That(page.Span[0x1FF], Is.EqualTo((byte)0x5A));
            Assert.That(bench.Smmu.Iotlb.Snapshot(), Is.EqualTo(new[] { new TlbEntry(0, Asid, TlbStage.Stage1, Iova, 12, 3, page.BaseAddress, true, true) }));
        }
    }

    [Test]
    public void An_unmapped_stage_1_PTE_keeps_translating_from_the_IOTLB_until_TLBI_and_CMD_SYNC()
    {
        using var bench = new SmmuTestBench();
        var (table, _) = MapStage1(bench, 0x5A);
        bench.DmaRead(Sid, Iova, out _);

        table.Unmap(Iova, 4096);
        var staleStatus = bench.DmaRead(Sid, Iova + 0x40, out var stale);
        var eventsBeforeTlbi = bench.DrainEvents();
        bench.Submit(TlbiNhVa(0, Asid, Iova, leaf: true, 0, 0, 0, 0), CmdSync(0));
        var afterStatus = bench.DmaRead(Sid, Iova + 0x40, out _);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(staleStatus, Is.EqualTo(DmaStatus.Ok));
            Assert.That(stale, Is.All.EqualTo((byte)0x5A), "the old page, through the cached entry");
            Assert.That(eventsBeforeTlbi, Is.Empty);
            Assert.That(afterStatus, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(events, Has.Count.EqualTo(1));
        }

        var e = events[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(e.Id, Is.EqualTo(SmmuEventId.F_TRANSLATION));
            Assert.That(e.StreamId, Is.EqualTo(Sid));
            Assert.That(e.InputAddress, Is.EqualTo(Iova + 0x40));
            Assert.That(e.IsRead, Is.True);
            Assert.That(e.Stage2, Is.False);
            Assert.That(e.Class, Is.EqualTo(2), "CLASS = IN");
        }
    }

    [Test]
    public void A_stage_1_fault_with_CD_R_clear_is_not_recorded()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(Asid, table.Root, record: false))));

        var status = bench.DmaRead(Sid, Iova, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(bench.EventqProd, Is.Zero);
        }
    }

    [Test]
    public void A_remapped_PTE_is_not_seen_until_the_TLBI_and_then_the_new_page_is()
    {
        using var bench = new SmmuTestBench();
        var (table, _) = MapStage1(bench, 0x5A);
        var newPage = bench.DataPage(0x77);
        bench.DmaRead(Sid, Iova, out _);

        table.Unmap(Iova, 4096);
        table.Map(Iova, newPage.BaseAddress, 4096, IommuProtection.Read);
        bench.DmaRead(Sid, Iova, out var before);
        bench.Submit(TlbiNhAsid(0, Asid), CmdSync(0));
        bench.DmaRead(Sid, Iova, out var after);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.All.EqualTo((byte)0x5A));
            Assert.That(after, Is.All.EqualTo((byte)0x77));
        }
    }

    [Test]
    public void Nested_DMA_goes_through_both_stages_and_an_unmapped_stage_1_PTE_is_stale_until_TLBI()
    {
        using var bench = new SmmuTestBench();
        var nested = Nested.Create(bench, vmid: 6, fill: 0x3C);

        var first = bench.DmaRead(Sid, Iova + 8, out var data);
        var entries = bench.Smmu.Iotlb.Snapshot();
        nested.Stage1.Unmap(Iova, 4096);
        var stale = bench.DmaRead(Sid, Iova + 8, out var staleData);
        bench.Submit(TlbiNhVa(6, Asid, Iova, leaf: true, 0, 0, 0, 0), CmdSync(0));
        var after = bench.DmaRead(Sid, Iova + 8, out _);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(DmaStatus.Ok));
            Assert.That(data, Is.All.EqualTo((byte)0x3C));
            Assert.That(entries, Is.EqualTo(new[] { new TlbEntry(6, Asid, TlbStage.Nested, Iova, 12, 3, nested.Ram.ToPhysical(nested.DataIpa), true, true) }));
            Assert.That(stale, Is.EqualTo(DmaStatus.Ok));
            Assert.That(staleData, Is.All.EqualTo((byte)0x3C));
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(events.Select(e => (e.Id, e.StreamId, e.InputAddress, e.Stage2, e.Class)),
                Is.EqualTo(new[] { (SmmuEventId.F_TRANSLATION, Sid, Iova + 8, false, 2) }));
        }
    }

    [Test]
    public void Nested_stage_2_unmap_of_the_data_page_faults_at_stage_2_after_TLBI_S12_VMALL()
    {
        using var bench = new SmmuTestBench();
        var nested = Nested.Create(bench, vmid: 6, fill: 0x3C);
        bench.DmaWrite(Sid, Iova, 0x01, 8);

        nested.Stage2.Unmap(nested.DataIpa, 4096);
        var stale = bench.DmaWrite(Sid, Iova, 0x02, 8);
        bench.Submit(TlbiS12Vmall(6), CmdSync(0));
        var after = bench.DmaWrite(Sid, Iova + 0x10, 0x03, 8);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stale, Is.EqualTo(DmaStatus.Ok));
            Assert.That(nested.Ram.Span(nested.DataIpa, 1)[0], Is.EqualTo((byte)0x02));
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(events, Has.Count.EqualTo(1));
            Assert.That(events[0].Id, Is.EqualTo(SmmuEventId.F_TRANSLATION));
            Assert.That(events[0].Stage2, Is.True);
            Assert.That(events[0].IsRead, Is.False);
            Assert.That(events[0].Class, Is.EqualTo(2), "CLASS = IN: the output IPA of stage 1 faulted");
            Assert.That(events[0].InputAddress, Is.EqualTo(Iova + 0x10));
            Assert.That(events[0].Ipa, Is.EqualTo(nested.DataIpa));
        }
    }

    [Test]
    public void Nested_stage_2_unmap_of_a_stage_1_table_faults_with_CLASS_TTD_and_the_table_IPA()
    {
        using var bench = new SmmuTestBench();
        var nested = Nested.Create(bench, vmid: 6, fill: 0x3C);
        bench.DmaRead(Sid, Iova, out _);

        nested.Stage2.Unmap(nested.Stage1.Root, 4096);
        bench.Submit(TlbiS12Vmall(6), CmdSync(0));
        var status = bench.DmaRead(Sid, Iova, out _);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(events, Has.Count.EqualTo(1));
            Assert.That(events[0].Word1 & (1UL << 39), Is.Not.Zero, "S2");
            Assert.That((events[0].Word1 >> 40) & 3, Is.EqualTo(1), "CLASS = TTD");
            Assert.That(events[0].Word3, Is.EqualTo(nested.Stage1.Root), "IPA of the stage-1 table that could not be fetched");
        }
    }

    [Test]
    public void A_rewritten_STE_has_no_effect_until_CFGI_STE_and_CMD_SYNC()
    {
        using var bench = new SmmuTestBench();
        MapStage1(bench, 0x5A);
        bench.DmaRead(Sid, Iova, out _);

        bench.WriteSte(Sid, SmmuTestBench.AbortSte());
        var beforeCfgi = bench.DmaRead(Sid, Iova, out var data);
        bench.Submit(CfgiSte(Sid + 1, leaf: true), CmdSync(0)); // another StreamID
        var afterOtherSid = bench.DmaRead(Sid, Iova, out _);
        bench.Submit(CfgiSte(Sid, leaf: true), CmdSync(0));
        var after = bench.DmaRead(Sid, Iova, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(beforeCfgi, Is.EqualTo(DmaStatus.Ok));
            Assert.That(data, Is.All.EqualTo((byte)0x5A));
            Assert.That(afterOtherSid, Is.EqualTo(DmaStatus.Ok));
            Assert.That(after, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.EventqProd, Is.Zero, "an abort STE terminates without an event");
        }
    }

    [TestCase(4u, 0, TestName = "{m}(Range 0 covers SIDs 4-5)")]
    [TestCase(0u, 2, TestName = "{m}(Range 2 covers SIDs 0-7)")]
    [TestCase(0u, 31, TestName = "{m}(CFGI_ALL)")]
    public void CFGI_STE_RANGE_invalidates_its_aligned_span_of_StreamIDs(uint sid, int range)
    {
        using var bench = new SmmuTestBench();
        foreach (uint s in new uint[] { 3, 5, 8 })
        {
            bench.WriteSte(s, SmmuTestBench.BypassSte());
            bench.DmaRead(s, 0x8000_0000, out _);
            bench.WriteSte(s, SmmuTestBench.AbortSte());
        }

        bench.Submit(CfgiSteRange(sid, (byte)range), CmdSync(0));

        var blocked = new[] { 3u, 5u, 8u }.Where(s => bench.DmaRead(s, 0x8000_0000, out _) == DmaStatus.Blocked);
        Assert.That(blocked, Is.EqualTo(range switch { 0 => new[] { 5u }, 2 => new[] { 3u, 5u }, _ => new[] { 3u, 5u, 8u } }));
    }

    [Test]
    public void A_rewritten_CD_has_no_effect_until_CFGI_CD_and_then_its_new_ASID_and_table_are_used()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        var oldPage = bench.DataPage(0x5A);
        table.Map(Iova, oldPage.BaseAddress, 4096, IommuProtection.Read);
        ulong cdAddress = bench.WriteCd(SmmuTestBench.Cd(Asid, table.Root));
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(cdAddress));
        bench.DmaRead(Sid, Iova, out _);

        var newTable = bench.NewStage1Table();
        var newPage = bench.DataPage(0x77);
        newTable.Map(Iova, newPage.BaseAddress, 4096, IommuProtection.Read);
        SmmuTestBench.Cd((ushort)(Asid + 1), newTable.Root).Write(SpanOf(bench, cdAddress));
        bench.DmaRead(Sid, Iova, out var before);
        bench.Submit(CfgiCd(Sid, 0, leaf: true), CmdSync(0));
        bench.DmaRead(Sid, Iova, out var after);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.All.EqualTo((byte)0x5A));
            Assert.That(after, Is.All.EqualTo((byte)0x77));
            Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.Asid), Is.EquivalentTo(new[] { (int)Asid, Asid + 1 }));
        }
    }

    [Test]
    public void An_ATS_endpoints_ATC_keeps_serving_after_TLBI_until_ATC_INV_and_CMD_SYNC()
    {
        using var bench = new SmmuTestBench();
        var device = new EndpointDevice("nic", Sid, atsCapable: true, null!);
        bench.Smmu.ConnectEndpoint(device);
        var (table, _) = MapStage1(bench, 0x5A, eats: 1);
        bench.DmaRead(Sid, Iova, out _);
        var atc = bench.Smmu.GetAtc(Sid)!;
        int atcFilled = atc.Count;

        table.Unmap(Iova, 4096);
        bench.Submit(TlbiNhVa(0, Asid, Iova, leaf: true, 0, 0, 0, 0), CmdSync(0));
        int iotlbAfterTlbi = bench.Smmu.Iotlb.Count;
        var viaAtc = bench.DmaRead(Sid, Iova, out var atcData);
        bench.Submit(AtcInv(Sid, 0, ssv: false, global: false, Iova + 0x1000, size: 0), CmdSync(0)); // the next page only
        var afterNeighbourInv = bench.DmaRead(Sid, Iova, out _);
        bench.Submit(AtcInv(Sid, 0, ssv: false, global: false, Iova, size: 0), CmdSync(0));
        var after = bench.DmaRead(Sid, Iova, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atcFilled, Is.EqualTo(1));
            Assert.That(iotlbAfterTlbi, Is.Zero);
            Assert.That(viaAtc, Is.EqualTo(DmaStatus.Ok));
            Assert.That(atcData, Is.All.EqualTo((byte)0x5A));
            Assert.That(afterNeighbourInv, Is.EqualTo(DmaStatus.Ok));
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(atc.Count, Is.Zero);
        }
    }

    [Test]
    public void Without_STE_EATS_an_ATS_endpoint_caches_nothing()
    {
        using var bench = new SmmuTestBench();
        bench.Smmu.ConnectEndpoint(new EndpointDevice("nic", Sid, atsCapable: true, null!));
        MapStage1(bench, 0x5A, eats: 0);

        bench.DmaRead(Sid, Iova, out _);

        Assert.That(bench.Smmu.GetAtc(Sid)!.Count, Is.Zero);
    }

    private static (AArch64PageTable Table, PhysicalBank Page) MapStage1(SmmuTestBench bench, byte fill, ulong eats = 0)
    {
        var table = bench.NewStage1Table();
        var page = bench.DataPage(fill);
        table.Map(Iova, page.BaseAddress, 4096, IommuProtection.Read | IommuProtection.Write);
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(Asid, table.Root)), eats: eats));
        return (table, page);
    }

    private static Span<byte> SpanOf(SmmuTestBench bench, ulong address)
    {
        Assert.That(bench.Memory.TryGetSpan(address, 64, out var span), Is.True);
        return span;
    }

    /// <summary>A nested setup: guest RAM behind a stage-2 table, and a stage-1 table and CD inside guest RAM.</summary>
    private sealed record Nested(GuestRam Ram, AArch64PageTable Stage1, AArch64PageTable Stage2, ulong DataIpa)
    {
        public static Nested Create(SmmuTestBench bench, ushort vmid, byte fill)
        {
            var ram = new GuestRam(bench.Memory, 64 * 1024);
            var stage2 = bench.NewStage2Table();
            stage2.Map(GuestRam.IpaBase, ram.Bank.BaseAddress, ram.Size, IommuProtection.Read | IommuProtection.Write);
            var stage1 = new AArch64PageTable(ram, SmmuTestBench.Stage1Format, stage2: false);
            ulong dataIpa = ram.Allocate(4096);
            ram.Span(dataIpa, 4096).Fill(fill);
            stage1.Map(Iova, dataIpa, 4096, IommuProtection.Read | IommuProtection.Write);
            ulong cdIpa = ram.Allocate(64);
            SmmuTestBench.Cd(Asid, stage1.Root).Write(ram.Span(cdIpa, 64));
            bench.WriteSte(Sid, SmmuTestBench.NestedSte(cdIpa, vmid, stage2.Root));
            return new Nested(ram, stage1, stage2, dataIpa);
        }
    }
}
