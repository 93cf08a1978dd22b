using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// What each TLBI removes from the IOTLB (spec §4.4): range arithmetic with TG/NUM/SCALE/TTL, ASID versus global
/// entries, and the scopes of NH_VA, NH_VAA, NH_ASID, NH_ALL, S12_VMALL, S2_IPA and NSNH_ALL across VMIDs.
/// </summary>
[TestFixture]
public class TlbInvalidationTests
{
    private const ulong PagesBase = 0x1_0000;
    private const ulong X = 0x5000_0000;
    private const ulong Y = 0x6000_0000;

    // 17 pages of 4 KiB, k = 0..16 at 0x10000 + k * 0x1000, ASID 1, VMID 0.
    [TestCase(0x15000UL, 1, 0, 0, 3, 5, 5, TestName = "{m}(one 4K page with TTL 3)")]
    [TestCase(0x12000UL, 1, 3, 1, 0, 2, 9, TestName = "{m}((3+1) x 2^1 pages)")]
    [TestCase(0x1B000UL, 1, 4, 0, 3, 11, 15, TestName = "{m}(5 pages with TTL 3)")]
    [TestCase(0x14000UL, 1, 0, 2, 0, 4, 7, TestName = "{m}(2^2 pages)")]
    [TestCase(0x10000UL, 1, 1, 3, 0, 0, 15, TestName = "{m}((1+1) x 2^3 pages)")]
    [TestCase(0x1A000UL, 0, 0, 0, 0, 10, 10, TestName = "{m}(TG 0: one address)")]
    [TestCase(0x1A000UL, 1, 31, 0, 0, 10, 16, TestName = "{m}(32 pages, past the last entry)")]
    public void TLBI_NH_VA_removes_exactly_the_pages_in_its_range(ulong address, int tg, int num, int scale, int ttl, int firstRemoved, int lastRemoved)
    {
        using var bench = new SmmuTestBench();
        for (int k = 0; k <= 16; k++)
        {
            bench.Smmu.Iotlb.Insert(Stage1Entry(PagesBase + ((ulong)k * 0x1000)));
        }

        bench.Submit(TlbiNhVa(0, 1, address, leaf: true, (byte)ttl, (byte)tg, (byte)num, (byte)scale), CmdSync(0));

        var expected = Enumerable.Range(0, 17).Where(k => k < firstRemoved || k > lastRemoved).Select(k => PagesBase + ((ulong)k * 0x1000));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Gerror, Is.Zero);
            Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.InputBase), Is.EquivalentTo(expected));
        }
    }

    [TestCase(0x4000_0000UL, 1, 1, 9, 0, new[] { 0, 1 }, TestName = "{m}(4 MiB range over two blocks)")]
    [TestCase(0x4020_0000UL, 1, 0, 0, 2, new[] { 1 }, TestName = "{m}(TTL 2 names the level-2 block)")]
    [TestCase(0x4041_2000UL, 0, 0, 0, 0, new[] { 2 }, TestName = "{m}(TG 0 with an address inside the block)")]
    [TestCase(0x401F_F000UL, 1, 1, 0, 0, new[] { 0, 1 }, TestName = "{m}(two pages straddling two blocks)")]
    public void TLBI_NH_VA_removes_2MiB_blocks_its_range_overlaps(ulong address, int tg, int num, int scale, int ttl, int[] removed)
    {
        using var bench = new SmmuTestBench();
        for (int k = 0; k < 3; k++)
        {
            bench.Smmu.Iotlb.Insert(Stage1Entry(0x4000_0000 + ((ulong)k << 21), shift: 21, level: 2));
        }

        bench.Submit(TlbiNhVa(0, 1, address, leaf: true, (byte)ttl, (byte)tg, (byte)num, (byte)scale), CmdSync(0));

        var expected = Enumerable.Range(0, 3).Except(removed).Select(k => 0x4000_0000 + ((ulong)k << 21));
        Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.InputBase), Is.EquivalentTo(expected));
    }

    [TestCase(0x1_0001_0000UL, 1, 0, 3, new[] { 1, 2 }, TestName = "{m}((1+1) x 64K with TTL 3)")]
    [TestCase(0x1_0002_0000UL, 0, 1, 0, new[] { 2, 3 }, TestName = "{m}(2^1 x 64K)")]
    public void TLBI_NH_VA_with_the_64K_granule_counts_in_64K_units(ulong address, int num, int scale, int ttl, int[] removed)
    {
        using var bench = new SmmuTestBench();
        for (int k = 0; k < 4; k++)
        {
            bench.Smmu.Iotlb.Insert(Stage1Entry(0x1_0000_0000 + ((ulong)k << 16), shift: 16));
        }

        bench.Submit(TlbiNhVa(0, 1, address, leaf: true, (byte)ttl, SmmuCommand.TG_64K, (byte)num, (byte)scale), CmdSync(0));

        var expected = Enumerable.Range(0, 4).Except(removed).Select(k => 0x1_0000_0000 + ((ulong)k << 16));
        Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.InputBase), Is.EquivalentTo(expected));
    }

    [Test]
    public void TLBI_S2_IPA_range_removes_the_stage_2_pages_in_range()
    {
        using var bench = new SmmuTestBench();
        for (int k = 0; k < 8; k++)
        {
            bench.Smmu.Iotlb.Insert(new TlbEntry(4, TlbEntry.NoAsid, TlbStage.Stage2, 0x8_0000 + ((ulong)k * 0x1000), 12, 3, 0x9000_0000, true, true));
        }

        bench.Submit(TlbiS2Ipa(4, 0x8_2000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 2, scale: 0), CmdSync(0));

        Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.InputBase), Is.EquivalentTo(new ulong[] { 0x8_0000, 0x8_1000, 0x8_5000, 0x8_6000, 0x8_7000 }));
    }

    [TestCaseSource(nameof(ScopeCases))]
    public void Each_TLBI_removes_exactly_the_entries_in_its_scope(SmmuCommand command, string[] removed)
    {
        using var bench = new SmmuTestBench();
        var all = new Dictionary<string, TlbEntry>
        {
            ["a1X"] = new(0, 1, TlbStage.Stage1, X, 12, 3, 0x9000_0000, true, true),
            ["a2X"] = new(0, 2, TlbStage.Stage1, X, 12, 3, 0x9000_1000, true, true),
            ["gX"] = new(0, TlbEntry.NoAsid, TlbStage.Stage1, X, 12, 3, 0x9000_2000, true, true),
            ["a1Y"] = new(0, 1, TlbStage.Stage1, Y, 12, 3, 0x9000_3000, true, true),
            ["s2X"] = new(0, TlbEntry.NoAsid, TlbStage.Stage2, X, 12, 3, 0x9000_4000, true, true),
            ["n1X"] = new(0, 1, TlbStage.Nested, X, 12, 3, 0x9000_5000, true, true),
            ["v1a1X"] = new(1, 1, TlbStage.Stage1, X, 12, 3, 0x9000_6000, true, true),
            ["v1s2X"] = new(1, TlbEntry.NoAsid, TlbStage.Stage2, X, 12, 3, 0x9000_7000, true, true),
        };
        foreach (var entry in all.Values)
        {
            bench.Smmu.Iotlb.Insert(entry);
        }

        bench.Submit(command, CmdSync(0));

        var survivors = all.Where(kv => !removed.Contains(kv.Key)).Select(kv => kv.Value);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Gerror, Is.Zero);
            Assert.That(bench.Smmu.Iotlb.Snapshot(), Is.EquivalentTo(survivors));
        }
    }

    [Test]
    public void Entries_filled_by_DMA_carry_the_STE_VMID_and_CD_ASID_and_a_range_TLBI_removes_the_middle_ones()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        var data = bench.Memory.Allocate(8 * 4096);
        table.Map(0x70_0000, data.BaseAddress, 8 * 4096, IommuProtection.Read | IommuProtection.Write);
        bench.WriteSte(5, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(asid: 9, table.Root)), vmid: 3));
        for (ulong k = 0; k < 8; k++)
        {
            Assert.That(bench.DmaRead(5, 0x70_0000 + (k * 4096) + 0x10, out _), Is.EqualTo(DmaStatus.Ok));
        }

        var filled = bench.Smmu.Iotlb.Snapshot();
        bench.Submit(TlbiNhVa(0, 9, 0x70_2000, true, ttl: 3, tg: 1, num: 3, scale: 0), CmdSync(0)); // other VMID
        int afterOtherVmid = bench.Smmu.Iotlb.Count;
        bench.Submit(TlbiNhVa(3, 8, 0x70_2000, true, ttl: 3, tg: 1, num: 3, scale: 0), CmdSync(0)); // other ASID
        int afterOtherAsid = bench.Smmu.Iotlb.Count;
        bench.Submit(TlbiNhVa(3, 9, 0x70_2000, true, ttl: 3, tg: 1, num: 3, scale: 0), CmdSync(0));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(filled, Has.Count.EqualTo(8));
            Assert.That(filled, Does.Contain(new TlbEntry(3, 9, TlbStage.Stage1, 0x70_1000, 12, 3, data.BaseAddress + 0x1000, true, true)));
            Assert.That(afterOtherVmid, Is.EqualTo(8));
            Assert.That(afterOtherAsid, Is.EqualTo(8));
            Assert.That(bench.Smmu.Iotlb.Snapshot().Select(e => e.InputBase), Is.EquivalentTo(new ulong[] { 0x70_0000, 0x70_1000, 0x70_6000, 0x70_7000 }));
        }
    }

    [Test]
    public void A_global_mapping_fills_an_entry_that_any_ASID_hits_and_TLBI_NH_ASID_leaves_it()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        var page = bench.DataPage(0x11);
        table.Map(0x80_0000, page.BaseAddress, 4096, IommuProtection.Read, global: true);
        bench.WriteSte(1, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(asid: 1, table.Root))));
        bench.WriteSte(2, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(asid: 2, table.Root))));

        bench.DmaRead(1, 0x80_0000, out _);
        long walksAfterFirst = bench.Smmu.TableWalks;
        bench.DmaRead(2, 0x80_0000, out var viaOtherAsid);
        bench.Submit(TlbiNhAsid(0, 1), TlbiNhAsid(0, 2), CmdSync(0));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Smmu.TableWalks, Is.EqualTo(walksAfterFirst), "ASID 2 hit the global entry");
            Assert.That(viaOtherAsid, Is.All.EqualTo((byte)0x11));
            Assert.That(bench.Smmu.Iotlb.Snapshot(), Is.EqualTo(new[] { new TlbEntry(0, TlbEntry.NoAsid, TlbStage.Stage1, 0x80_0000, 12, 3, page.BaseAddress, true, false) }));
        }
    }

    private static TlbEntry Stage1Entry(ulong va, int shift = 12, int level = 3) =>
        new(0, 1, TlbStage.Stage1, va, shift, level, 0x9000_0000 + va, true, true);

    private static IEnumerable<TestCaseData> ScopeCases()
    {
        string[] vmid0Stage1 = ["a1X", "a2X", "gX", "a1Y", "n1X"];
        yield return Case("NH_VA VMID 0 ASID 1 at X", TlbiNhVa(0, 1, X, true, 0, 0, 0, 0), "a1X", "gX", "n1X");
        yield return Case("NH_VA VMID 0 ASID 2 at X", TlbiNhVa(0, 2, X, true, 0, 0, 0, 0), "a2X", "gX");
        yield return Case("NH_VA VMID 0 ASID 1 at Y", TlbiNhVa(0, 1, Y, true, 0, 0, 0, 0), "a1Y");
        yield return Case("NH_VAA VMID 0 at X", TlbiNhVaa(0, X, true, 0, 0, 0, 0), "a1X", "a2X", "gX", "n1X");
        yield return Case("NH_ASID VMID 0 ASID 1", TlbiNhAsid(0, 1), "a1X", "a1Y", "n1X");
        yield return Case("NH_ASID VMID 0 ASID 2", TlbiNhAsid(0, 2), "a2X");
        yield return Case("NH_ALL VMID 0", TlbiNhAll(0), vmid0Stage1);
        yield return Case("S12_VMALL VMID 0", TlbiS12Vmall(0), [.. vmid0Stage1, "s2X"]);
        yield return Case("S2_IPA VMID 0 at X", TlbiS2Ipa(0, X, true, 0, 0, 0, 0), "s2X");
        yield return Case("NSNH_ALL", TlbiNsnhAll(), [.. vmid0Stage1, "s2X", "v1a1X", "v1s2X"]);
        yield return Case("NH_VA VMID 1 ASID 1 at X", TlbiNhVa(1, 1, X, true, 0, 0, 0, 0), "v1a1X");
        yield return Case("NH_ALL VMID 1", TlbiNhAll(1), "v1a1X");
        yield return Case("S2_IPA VMID 1 at X", TlbiS2Ipa(1, X, true, 0, 0, 0, 0), "v1s2X");
        yield return Case("S12_VMALL VMID 1", TlbiS12Vmall(1), "v1a1X", "v1s2X");
        yield return Case("S12_VMALL VMID 2", TlbiS12Vmall(2));
    }

    private static TestCaseData Case(string name, SmmuCommand command, params string[] removed) =>
        new TestCaseData(command, removed).SetArgDisplayNames(name);
}
