using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// SubstreamIDs (PASIDs) end to end in the model: the CD table by S1CDMax and S1Fmt (IHI 0070 §5.2, §5.3), S1DSS
/// for transactions without one, C_BAD_SUBSTREAMID and F_STREAM_DISABLED (§5.2, §5.3.1, §7.3), the configuration
/// cache and the ATC keyed by substream, CFGI_CD / CFGI_CD_ALL (§4.3.3, §4.3.4) and ATC_INV's SSV and G (§4.5.1).
/// </summary>
[TestFixture]
public class SubstreamTests
{
    private const uint Sid = 7;
    private const ulong Iova = 0x4000;

    /// <summary>STE.S1Fmt [5:4]: 0b01 2-level with 4K leaves (64 CDs), 0b10 with 64K leaves (1024 CDs).</summary>
    private static StreamTableEntry WithSubstreams(in StreamTableEntry ste, int s1CdMax, ulong s1Fmt = 0, ulong s1Dss = 0) =>
        ste with { Word0 = ste.Word0 | ((ulong)s1CdMax << 59) | (s1Fmt << 4), Word1 = ste.Word1 | s1Dss };

    [Test]
    public void A_linear_CD_table_gives_each_substream_its_own_CD_and_address_space()
    {
        using var bench = new SmmuTestBench();
        var cds = new CdTable(bench, s1CdMax: 3);
        var page1 = bench.DataPage(0x11);
        var page5 = bench.DataPage(0x55);
        cds.Map(ssid: 1, asid: 10, Iova, page1.BaseAddress);
        cds.Map(ssid: 5, asid: 50, Iova, page5.BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 3));

        var one = bench.Smmu.Translate(Sid, 1, Iova, write: false, out ulong pa1);
        var five = bench.Smmu.Translate(Sid, 5, Iova, write: false, out ulong pa5);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((one, pa1), Is.EqualTo((DmaStatus.Ok, page1.BaseAddress)));
            Assert.That((five, pa5), Is.EqualTo((DmaStatus.Ok, page5.BaseAddress)));
            Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.Asid).Order(), Is.EqualTo(new[] { 10, 50 }), "tagged with each CD's ASID");
            Assert.That(bench.DrainEvents(), Is.Empty);
        }
    }

    [TestCase(1UL, 6, 70u, TestName = "S1Fmt 0b01: 4K leaf tables of 64 CDs, L1 indexed by SSID[S1CDMax-1:6]")]
    [TestCase(2UL, 10, 1030u, TestName = "S1Fmt 0b10: 64K leaf tables of 1024 CDs, L1 indexed by SSID[S1CDMax-1:10]")]
    public void A_two_level_CD_table_is_walked_through_its_L1CD(ulong s1Fmt, int split, uint ssid)
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { TwoLevelCdTable = true });
        var table = bench.NewStage1Table();
        var page = bench.DataPage(0x2C);
        table.Map(Iova, page.BaseAddress, 4096, IommuProtection.Read);
        var l1 = bench.Memory.Allocate(PhysicalMemory.PageSize);
        var leaf = bench.Memory.Allocate(ContextDescriptor.Size << split, alignment: 1UL << Math.Max(12, split + 6));
        SmmuTestBench.Cd(3, table.Root).Write(leaf.Span[(int)((ssid & ((1u << split) - 1)) * ContextDescriptor.Size)..]);
        BitConverter.TryWriteBytes(l1.Span[(int)((ssid >> split) * 8)..], leaf.BaseAddress | 1); // L1CD: L2Ptr, V
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(l1.BaseAddress), s1CdMax: 12, s1Fmt));

        var status = bench.Smmu.Translate(Sid, ssid, Iova, write: false, out ulong pa);
        var invalidL1 = bench.Smmu.Translate(Sid, ssid ^ (1u << split), Iova, write: false, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((status, pa), Is.EqualTo((DmaStatus.Ok, page.BaseAddress)));
            Assert.That(invalidL1, Is.EqualTo(DmaStatus.Blocked));
            var e = bench.DrainEvents().Single();
            Assert.That((e.Id, e.SubstreamId, e.Ssv), Is.EqualTo((SmmuEventId.C_BAD_SUBSTREAMID, ssid ^ (1u << split), false)), "an L1CD with V = 0 (§5.3.1)");
        }
    }

    [Test]
    public void Without_CD2L_S1Fmt_0b11_reserved_is_a_linear_table()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { TwoLevelCdTable = true });
        var cds = new CdTable(bench, s1CdMax: 2);
        var page = bench.DataPage(0x33);
        cds.Map(ssid: 3, asid: 3, Iova, page.BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 2, s1Fmt: 3));

        var status = bench.Smmu.Translate(Sid, 3, Iova, write: false, out ulong pa);

        Assert.That((status, pa), Is.EqualTo((DmaStatus.Ok, page.BaseAddress)), "§5.2 S1Fmt: 0b11 behaves as 0b00");
    }

    [TestCase(0, 1u, TestName = "S1CDMax 0: substreams disabled, any SSV = 1 is terminated")]
    [TestCase(2, 4u, TestName = "SubstreamID at 2^S1CDMax")]
    [TestCase(2, 0xFFFFFu, TestName = "the largest SubstreamID beyond 2^S1CDMax")]
    public void A_SubstreamID_the_STE_does_not_cover_is_C_BAD_SUBSTREAMID(int s1CdMax, uint ssid)
    {
        using var bench = new SmmuTestBench();
        var cds = new CdTable(bench, s1CdMax);
        cds.Map(ssid: 0, asid: 1, Iova, bench.DataPage(1).BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax, s1Dss: 1));

        var status = bench.DmaRead(Sid, ssid, Iova);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.DrainEvents().Select(e => (e.Id, e.StreamId, e.SubstreamId)), Is.EqualTo(new[] { (SmmuEventId.C_BAD_SUBSTREAMID, Sid, ssid) }));
            Assert.That(bench.Smmu.ConfigCache.CdCount, Is.Zero, "no CD was fetched");
        }
    }

    [Test]
    public void With_stage_1_disabled_or_without_SSIDSIZE_any_SubstreamID_is_C_BAD_SUBSTREAMID()
    {
        using var bench = new SmmuTestBench();
        using var noSubstreams = new SmmuTestBench(new SmmuV3Features { SsidBits = 0 });
        var s2 = bench.NewStage2Table();
        bench.WriteSte(Sid, SmmuTestBench.BypassSte());
        bench.WriteSte(Sid + 1, SmmuTestBench.Stage2Ste(vmid: 1, s2.Root));
        var cds = new CdTable(noSubstreams, 0);
        cds.Map(0, 1, Iova, noSubstreams.DataPage(1).BaseAddress);
        noSubstreams.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 3, s1Dss: 2));

        var results = new[] { bench.DmaRead(Sid, 1u, Iova), bench.DmaRead(Sid + 1, 0u, Iova), noSubstreams.DmaRead(Sid, 0u, Iova) };
        var ids = bench.DrainEvents().Concat(noSubstreams.DrainEvents()).Select(e => e.Id);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(results, Is.All.EqualTo(DmaStatus.Blocked), "bypass (Config 0b100), stage 2 only (0b110), SSIDSIZE = 0 (§5.2 S1Fmt, S1CDMax)");
            Assert.That(ids, Is.EqualTo(Enumerable.Repeat(SmmuEventId.C_BAD_SUBSTREAMID, 3)));
            Assert.That(noSubstreams.Smmu.Translate(Sid, Iova, write: false, out _), Is.EqualTo(DmaStatus.Ok), "S1CDMax is IGNORED without SSIDSIZE: one CD");
        }
    }

    [Test]
    public void Under_S1DSS_0b10_substream_0_serves_traffic_without_a_SubstreamID_and_SSID_0_is_F_STREAM_DISABLED()
    {
        using var bench = new SmmuTestBench();
        var cds = new CdTable(bench, s1CdMax: 1);
        var page0 = bench.DataPage(0xA0);
        cds.Map(ssid: 0, asid: 7, Iova, page0.BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 1, s1Dss: 2));

        var noSsid = bench.Smmu.Translate(Sid, Iova, write: false, out ulong pa);
        var ssid0 = bench.Smmu.Translate(Sid, 0, Iova, write: false, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((noSsid, pa), Is.EqualTo((DmaStatus.Ok, page0.BaseAddress)));
            Assert.That(ssid0, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.DrainEvents().Select(e => (e.Id, e.Ssv)), Is.EqualTo(new[] { (SmmuEventId.F_STREAM_DISABLED, false) }), "§5.2 S1DSS 0b10");
        }
    }

    [Test]
    public void Fault_and_CD_records_carry_the_transactions_SSV_and_SubstreamID()
    {
        using var bench = new SmmuTestBench();
        var cds = new CdTable(bench, s1CdMax: 2);
        cds.Map(ssid: 2, asid: 2, 0x9000, bench.DataPage(2).BaseAddress);
        cds.Slot(3).Clear(); // CD.V = 0
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 2, s1Dss: 1));

        var unmapped = bench.DmaRead(Sid, 2u, Iova);
        var invalidCd = bench.DmaRead(Sid, 3u, Iova);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That((unmapped, invalidCd), Is.EqualTo((DmaStatus.TranslationFault, DmaStatus.Blocked)));
            Assert.That(events.Select(e => (e.Id, e.Ssv, e.SubstreamId)), Is.EqualTo(new[] { (SmmuEventId.F_TRANSLATION, true, 2u), (SmmuEventId.C_BAD_CD, true, 3u) }));
        }
    }

    [Test]
    public void CFGI_CD_drops_one_substreams_cached_CD_and_CFGI_CD_ALL_every_one()
    {
        using var bench = new SmmuTestBench();
        var cds = new CdTable(bench, s1CdMax: 2);
        var old = bench.DataPage(0x01);
        var fresh = bench.DataPage(0x02);
        var oldTable = cds.Map(ssid: 1, asid: 1, Iova, old.BaseAddress);
        cds.Map(ssid: 2, asid: 2, Iova, old.BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 2));
        bench.Smmu.Translate(Sid, 1, Iova, false, out _);
        bench.Smmu.Translate(Sid, 2, Iova, false, out _);

        // Both CDs now point at a new table with new ASIDs; the cached ones stay in use until a CFGI_CD (§4.3.3).
        cds.Map(ssid: 1, asid: 11, Iova, fresh.BaseAddress);
        cds.Map(ssid: 2, asid: 12, Iova, fresh.BaseAddress);
        bench.Submit(SmmuCommandBuilder.CfgiCd(Sid, 1, leaf: true), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        bench.Smmu.Translate(Sid, 1, Iova, false, out ulong afterCd1);
        bench.Smmu.Translate(Sid, 2, Iova, false, out ulong stale2);
        bench.Submit(SmmuCommandBuilder.CfgiCdAll(Sid), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        bench.Smmu.Translate(Sid, 2, Iova, false, out ulong afterAll);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(oldTable, Is.Not.Zero);
            Assert.That(afterCd1, Is.EqualTo(fresh.BaseAddress), "CFGI_CD SSID 1");
            Assert.That(stale2, Is.EqualTo(old.BaseAddress), "SSID 2 still uses its cached CD (ASID 2 → the old table)");
            Assert.That(afterAll, Is.EqualTo(fresh.BaseAddress), "CFGI_CD_ALL");
        }
    }

    [Test]
    public void TLBI_NH_ASID_of_one_substreams_CD_leaves_the_other_substreams_entries()
    {
        using var bench = new SmmuTestBench();
        var cds = new CdTable(bench, s1CdMax: 1);
        cds.Map(ssid: 0, asid: 20, Iova, bench.DataPage(1).BaseAddress);
        cds.Map(ssid: 1, asid: 21, Iova, bench.DataPage(2).BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base), s1CdMax: 1, s1Dss: 1));
        bench.Smmu.Translate(Sid, 0, Iova, false, out _);
        bench.Smmu.Translate(Sid, 1, Iova, false, out _);

        bench.Submit(SmmuCommandBuilder.TlbiNhAsid(0, 21), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));

        Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.Asid), Is.EqualTo(new[] { 20 }), "§4.4.2 TLBI_NH_ASID: one ASID, so one CD");
    }

    [Test]
    public void The_ATC_keeps_translations_per_PASID_and_ATC_INV_follows_SSV_and_G()
    {
        using var bench = new SmmuTestBench();
        bench.Smmu.ConnectEndpoint(new EndpointDevice("ats", Sid, atsCapable: true, null!));
        var cds = new CdTable(bench, s1CdMax: 2);
        cds.Map(ssid: 1, asid: 1, Iova, bench.DataPage(1).BaseAddress);
        cds.Map(ssid: 2, asid: 2, Iova, bench.DataPage(2).BaseAddress, global: true);
        cds.Map(ssid: 3, asid: 3, Iova, bench.DataPage(3).BaseAddress);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.Stage1Ste(cds.Base, eats: 1), s1CdMax: 2, s1Dss: 1));
        var atc = bench.Smmu.GetAtc(Sid)!;
        void Fill()
        {
            bench.Smmu.Translate(Sid, Iova, false, out _); // S1DSS bypass: stage 1 skipped, no stage 2: not cached
            for (uint s = 1; s <= 3; s++)
            {
                bench.Smmu.Translate(Sid, s, Iova, false, out _);
            }
        }

        Fill();
        int filled = atc.Count;
        bench.Submit(SmmuCommandBuilder.AtcInv(Sid, 1, ssv: true, global: false, Iova, 0), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        int afterPasid1 = atc.Count;
        bench.Submit(SmmuCommandBuilder.AtcInv(Sid, 3, ssv: true, global: true, Iova, 0), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        int afterGlobal = atc.Count;
        Fill();
        bench.Submit(SmmuCommandBuilder.AtcInv(Sid, 0, ssv: false, global: true, Iova, 0), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(filled, Is.EqualTo(3), "one entry per PASID");
            Assert.That(afterPasid1, Is.EqualTo(2), "SSV = 1: that PASID only");
            Assert.That(afterGlobal, Is.Zero, "G = 1: PASID 3 and the global entry of PASID 2");
            Assert.That(atc.Count, Is.Zero, "SSV = 0 reaches entries fetched with a PASID too (G IGNORED)");
        }
    }

    [Test]
    public void A_nested_two_level_CD_table_reads_S1ContextPtr_and_the_L1CD_as_IPAs()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { TwoLevelCdTable = true });
        var ram = new GuestRam(bench.Memory, 256 * 1024);
        var s2 = bench.NewStage2Table();
        s2.Map(GuestRam.IpaBase, ram.Bank.BaseAddress, ram.Size, IommuProtection.Read | IommuProtection.Write);
        var s1 = new AArch64PageTable(ram, SmmuTestBench.Stage1Format, stage2: false);
        ulong dataIpa = ram.Allocate(4096);
        s1.Map(Iova, dataIpa, 4096, IommuProtection.Read);
        ulong l1Ipa = ram.Allocate(4096);
        ulong leafIpa = ram.Allocate(4096);
        SmmuTestBench.Cd(9, s1.Root).Write(ram.Span(leafIpa + (5 * ContextDescriptor.Size), 64));
        BitConverter.TryWriteBytes(ram.Span(l1Ipa + 8, 8), leafIpa | 1);
        bench.WriteSte(Sid, WithSubstreams(SmmuTestBench.NestedSte(l1Ipa, vmid: 3, s2.Root), s1CdMax: 7, s1Fmt: 1));

        var status = bench.Smmu.Translate(Sid, 64 + 5, Iova, write: false, out ulong pa);

        Assert.That((status, pa), Is.EqualTo((DmaStatus.Ok, ram.Bank.BaseAddress + (dataIpa - GuestRam.IpaBase))), "§5.2 S1Fmt note: the L1 pointers are IPAs too");
    }

    [Test]
    public void A_SubstreamID_wider_than_20_bits_is_refused_by_the_model_API()
    {
        using var bench = new SmmuTestBench();

        Assert.That(() => bench.Smmu.Translate(Sid, 1u << 20, Iova, false, out _), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    /// <summary>A linear CD table of 2^S1CDMax CDs, aligned to its size (§5.2 S1Fmt 0b00).</summary>
    private sealed class CdTable(SmmuTestBench bench, int s1CdMax)
    {
        private readonly PhysicalBank _bank = bench.Memory.Allocate(
            Math.Max(PhysicalMemory.PageSize, ContextDescriptor.Size << s1CdMax), alignment: (ulong)Math.Max(PhysicalMemory.PageSize, ContextDescriptor.Size << s1CdMax));

        public ulong Base => _bank.BaseAddress;

        public Span<byte> Slot(uint ssid) => _bank.Span.Slice((int)ssid * ContextDescriptor.Size, ContextDescriptor.Size);

        /// <summary>Writes the CD of <paramref name="ssid"/> with a new table mapping one page; returns the table's root.</summary>
        public ulong Map(uint ssid, ushort asid, ulong iova, ulong pa, bool global = false)
        {
            var table = bench.NewStage1Table();
            table.Map(iova, pa, 4096, IommuProtection.Read, global);
            SmmuTestBench.Cd(asid, table.Root).Write(Slot(ssid));
            return table.Root;
        }
    }
}
