using System.Buffers.Binary;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// Configuration validity as the specification's pseudocode has it: every ILLEGAL STE case of Arm IHI 0070
/// §5.2.2 SteIllegal (C_BAD_STE), every ILLEGAL CD case of §5.4.2 CdIllegal (C_BAD_CD), the reserved Config
/// values (abort without an event, §5.2 Config), EPD0 (§5.4.1.1), L1STD spans (§5.1.1) and CR2.RECINVSID
/// (§6.3.12).
/// </summary>
[TestFixture]
public class ConfigurationValidityTests
{
    private const uint Sid = 3;

    /// <summary>The bench's S2 STE: S2T0SZ 25 (39-bit IPA), S2SL0 1 (level 1), 4K, S2PS 48 bits, S2AA64, S2R.</summary>
    private static readonly StreamTableEntry S2 = SmmuTestBench.Stage2Ste(vmid: 3, s2ttb: 0x8000_0000);

    private static readonly StreamTableEntry S1 = SmmuTestBench.Stage1Ste(0x8000_0000);

    private static readonly ContextDescriptor Cd = SmmuTestBench.Cd(asid: 1, ttb0: 0x8000_1000);

    public static IEnumerable<TestCaseData> IllegalStes()
    {
        var f = new SmmuV3Features();
        yield return Case(S2 with { Word0 = S2.Word0 & ~1UL }, f, "V = 0");
        yield return Case(S2, f with { Stage2 = false }, "Config 0b11x without stage 2 (IDR0.S2P = 0)");
        yield return Case(S1, f with { Stage1 = false }, "Config 0b1x1 without stage 1 (IDR0.S1P = 0)");
        yield return Case(S1 with { Word0 = S1.Word0 | (21UL << 59) }, f, "S1CDMax above SSIDSIZE (20)");
        yield return Case(S1 with { Word0 = S1.Word0 | (5UL << 59) }, f with { SsidBits = 4 }, "S1CDMax 5 above SSIDSIZE 4");
        yield return Case(S1 with { Word0 = S1.Word0 | (1UL << 59) | (1UL << 4) }, f, "S1Fmt 0b01 without IDR0.CD2L");
        yield return Case(S1 with { Word0 = S1.Word0 | (1UL << 59) | (2UL << 4) }, f, "S1Fmt 0b10 without IDR0.CD2L");
        yield return Case(S1 with { Word1 = S1.Word1 | (1UL << 27) }, f, "S1STALLD with STALL_MODEL 0b01");
        yield return Case(S1 with { Word1 = S1.Word1 | (1UL << 27) }, f with { StallModel = 2 }, "S1STALLD with STALL_MODEL 0b10");
        yield return Case(S1 with { Word1 = S1.Word1 | (1UL << 30) }, f with { Hyp = true }, "STRW 0b01 (reserved) where STRW is used");
        yield return Case(S1 with { Word1 = S1.Word1 | (3UL << 30) }, f with { Hyp = true }, "STRW 0b11 (reserved) where STRW is used");
        yield return Case(S1 with { Word0 = (S1.Word0 & 0x3F) | (1UL << 44) }, f with { OutputAddressBits = 44 }, "S1ContextPtr beyond the OAS");
        yield return Case(S1 with { Word2 = 0x100 }, f with { Vmid16 = false }, "S2VMID[15:8] with 8-bit VMIDs (used for stage 1 only too)");
        yield return Case(S2 with { Word2 = S2.Word2 | 0x100 }, f with { Vmid16 = false }, "S2VMID[15:8] with 8-bit VMIDs");
        yield return Case(Word2(S2, sl0: 0), f, "S2SL0 0 (level 2) cannot resolve a 39-bit IPA");
        yield return Case(Word2(S2, sl0: 2), f, "S2SL0 2 (level 0) is too shallow for a 39-bit IPA");
        yield return Case(Word2(S2, sl0: 3), f, "S2SL0 3 with 4K (needs IDR3.STT)");
        yield return Case(Word2(S2, t0sz: 15), f, "S2T0SZ below 16");
        yield return Case(Word2(S2, t0sz: 40, sl0: 0), f, "S2T0SZ above 39 (IDR3.STT = 0)");
        yield return Case(Word2(S2, t0sz: 16, sl0: 2), f with { OutputAddressBits = 44 }, "S2T0SZ below 64 - IAS");
        yield return Case(Word2(S2, tg: 3), f, "S2TG reserved");
        yield return Case(Word2(S2, tg: 2, sl0: 2), f with { Granule16K = false }, "S2TG 16K not in IDR5");
        yield return Case(Word2(S2, tg: 1, sl0: 1), f with { Granule64K = false }, "S2TG 64K not in IDR5");
        yield return Case(Word2(S2, tg: 1, sl0: 3), f, "S2SL0 3 with 64K (reserved)");
        yield return Case(S2 with { Word2 = S2.Word2 | (1UL << 52) }, f, "S2ENDI with little-endian walks only");
        yield return Case(S2 with { Word2 = S2.Word2 & ~(1UL << 51) }, f, "S2AA64 = 0 (VMSAv8-32, IDR0.TTF[0] = 0)");
        yield return Case(S2 with { Word2 = S2.Word2 | (1UL << 56) }, f, "S2HA without HTTU");
        yield return Case(S2 with { Word2 = S2.Word2 | (1UL << 55) }, f, "S2HD without HTTU");
        yield return Case(S2 with { Word2 = S2.Word2 | (1UL << 57) }, f, "S2S with STALL_MODEL 0b01");
        yield return Case(S2, f with { StallModel = 2 }, "S2S clear with STALL_MODEL 0b10");
        yield return Case(S2 with { Word2 = (S2.Word2 & ~(7UL << 48)) | (2UL << 48), Word3 = 1UL << 40 }, f, "S2TTB beyond S2PS (40 bits)");
        yield return Case(S2 with { Word2 = S2.Word2 | (6UL << 48), Word3 = 1UL << 48 }, f with { OutputAddressBits = 52 }, "S2TTB beyond 48 bits with 4K");
        yield return Case(S2 with { Word1 = 2UL << 28 }, f, "EATS 0b10 (split-stage) on a stage-2-only STE");
        yield return Case(S2 with { Word1 = 1UL << 28, Word2 = S2.Word2 | (1UL << 57) }, f with { StallModel = 0 }, "EATS 0b01 with S2S");
    }

    public static IEnumerable<TestCaseData> LegalStes()
    {
        var f = new SmmuV3Features();
        yield return Case(S2, f, "the bench's S2 STE");
        yield return Case(S1, f, "the bench's S1 STE");
        yield return Case(SmmuTestBench.BypassSte() with { Word2 = 0xFFFF, Word3 = ~0UL }, f, "bypass: S1* and S2* IGNORED");
        yield return Case(S1 with { Word2 = ~0UL & ~0xFFFFUL, Word3 = ~0UL }, f, "stage 1 only: S2* (but S2VMID) IGNORED");
        yield return Case(S2 with { Word0 = S2.Word0 | (31UL << 59) | (3UL << 4) }, f, "stage 2 only: S1* IGNORED");
        yield return Case(S1 with { Word0 = S1.Word0 | (20UL << 59) }, f, "S1CDMax = SSIDSIZE");
        yield return Case(S1 with { Word0 = S1.Word0 | (31UL << 59) }, f with { SsidBits = 0 }, "S1CDMax IGNORED when SSIDSIZE = 0");
        yield return Case(S1 with { Word0 = S1.Word0 | (1UL << 59) | (3UL << 4) }, f, "S1Fmt 0b11 behaves as linear");
        yield return Case(S1 with { Word0 = S1.Word0 | (1UL << 59) | (1UL << 4) }, f with { TwoLevelCdTable = true }, "S1Fmt 0b01 with CD2L");
        yield return Case(S1 with { Word0 = S1.Word0 | (1UL << 4) }, f, "S1Fmt IGNORED while S1CDMax = 0");
        yield return Case(S1 with { Word1 = S1.Word1 | (1UL << 27) }, f with { StallModel = 0 }, "S1STALLD with a configurable stall model");
        yield return Case(S1 with { Word1 = S1.Word1 | (3UL << 30) }, f, "STRW RES0 (IDR0.Hyp = 0) is not checked");
        yield return Case(S2 with { Word2 = S2.Word2 | 0x100 }, f, "16-bit VMIDs");
        yield return Case(Word2(S2, t0sz: 24), f, "S2SL0 1 with 40-bit IPA: two concatenated tables at level 1");
        yield return Case(Word2(S2, t0sz: 16, sl0: 2), f, "48-bit IPA from level 0");
        yield return Case(Word2(S2, t0sz: 34, sl0: 0), f, "30-bit IPA from level 2");
        yield return Case(Word2(S2, tg: 1, sl0: 1), f, "64K from level 2, 39-bit IPA");
        yield return Case(Word2(S2, tg: 2, sl0: 1), f, "16K from level 2, 39-bit IPA");
        yield return Case(S2 with { Word1 = 2UL << 28, Word0 = 1 | (StreamTableEntry.ConfigNested << 1) }, f, "EATS 0b10 on a nested STE");
        yield return Case(S2 with { Word1 = 3UL << 28 }, f, "EATS 0b11 without DPT: reserved, behaves as 0b00");
        yield return Case(S2 with { Word2 = S2.Word2 | (7UL << 48) }, f, "S2PS above the OAS is capped");
        yield return Case(S1 with { Word0 = S1.Word0 & ~0xEUL }, f, "Config 0b000 is never ILLEGAL");
        yield return Case(S1 with { Word0 = (S1.Word0 & ~0xEUL) | (2UL << 1) }, f, "Config 0b010 (reserved) is never ILLEGAL");
    }

    public static IEnumerable<TestCaseData> IllegalCds()
    {
        var f = new SmmuV3Features();
        yield return Case(Cd with { Word0 = Cd.Word0 & ~(1UL << 31) }, f, "V = 0");
        yield return Case(Cd with { Word0 = Cd.Word0 & ~(1UL << 46) }, f, "A = 0 with TERM_MODEL = 1");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 44) }, f, "S with STALL_MODEL 0b01");
        yield return Case(Cd, f with { StallModel = 2 }, "S clear with STALL_MODEL 0b10");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 15) }, f, "ENDI with little-endian walks only");
        yield return Case(Cd with { Word0 = Cd.Word0 & ~(1UL << 41) }, f, "AA64 = 0 (VMSAv8-32 not offered)");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 43) }, f, "HA without HTTU");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 42) }, f, "HD without HTTU");
        yield return Case(Cd with { Word0 = Cd.Word0 | (0x1UL << 56) }, f with { Asid16 = false }, "ASID[15:8] with 8-bit ASIDs");
        yield return Case(T0(Cd, 15), f, "T0SZ below 16 (48-bit VAs)");
        yield return Case(T0(Cd, 40), f, "T0SZ above 39 (IDR3.STT = 0)");
        yield return Case(Cd with { Word0 = Cd.Word0 | (3UL << 6) }, f, "TG0 reserved");
        yield return Case(Cd with { Word0 = Cd.Word0 | (2UL << 6) }, f with { Granule16K = false }, "TG0 16K not in IDR5");
        yield return Case(Cd with { Word0 = Cd.Word0 & ~(7UL << 32), Word1 = 1UL << 33 }, f, "TTB0 beyond IPS (32 bits)");
        yield return Case(Cd with { Word0 = Cd.Word0 | (6UL << 32), Word1 = 1UL << 48 }, f with { OutputAddressBits = 52 }, "TTB0 beyond 48 bits with 4K");
        yield return Case(Cd with { Word0 = Cd.Word0 & ~(1UL << 30) }, f, "EPD1 = 0 with T1SZ 0 and TG1 reserved");
        yield return Case(Cd with { Word0 = (Cd.Word0 & ~(1UL << 30)) | (16UL << 16) }, f, "EPD1 = 0 with TG1 reserved");
    }

    public static IEnumerable<TestCaseData> LegalCds()
    {
        var f = new SmmuV3Features();
        yield return Case(Cd, f, "the bench's CD");
        yield return Case(T0(Cd, 39), f, "T0SZ 39");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 14) | (3UL << 6) | 63 }, f, "EPD0: T0SZ and TG0 IGNORED");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 14) | (1UL << 15) }, f, "ENDI IGNORED when EPD0 and EPD1");
        yield return Case(Cd with { Word0 = (Cd.Word0 & ~(1UL << 30)) | (16UL << 16) | (2UL << 22), Word2 = 0x8000_2000 }, f, "EPD1 = 0 with a valid TTB1 set-up");
        yield return Case(Cd with { Word0 = Cd.Word0 | (1UL << 44) }, f with { StallModel = 0 }, "S with a configurable stall model");
        yield return Case(Cd with { Word0 = Cd.Word0 | (0x1UL << 56) }, f, "16-bit ASIDs");
        yield return Case(Cd with { Word0 = Cd.Word0 | (7UL << 32) }, f, "IPS above the OAS is capped");
    }

    [TestCaseSource(nameof(IllegalStes))]
    public void An_ILLEGAL_STE_case_of_SteIllegal_is_ILLEGAL(StreamTableEntry ste, SmmuV3Features features) =>
        Assert.That(ConfigurationValidity.SteIllegal(ste, features), Is.True);

    [TestCaseSource(nameof(LegalStes))]
    public void A_legal_or_IGNORED_STE_set_up_is_not_ILLEGAL(StreamTableEntry ste, SmmuV3Features features) =>
        Assert.That(ConfigurationValidity.SteIllegal(ste, features), Is.False);

    [TestCaseSource(nameof(IllegalCds))]
    public void An_ILLEGAL_CD_case_of_CdIllegal_is_ILLEGAL(ContextDescriptor cd, SmmuV3Features features) =>
        Assert.That(ConfigurationValidity.CdIllegal(S1, cd, features), Is.True);

    [TestCaseSource(nameof(LegalCds))]
    public void A_legal_or_IGNORED_CD_set_up_is_not_ILLEGAL(ContextDescriptor cd, SmmuV3Features features) =>
        Assert.That(ConfigurationValidity.CdIllegal(S1, cd, features), Is.False);

    [Test]
    public void S1STALLD_with_CD_S_makes_the_CD_ILLEGAL()
    {
        var features = new SmmuV3Features { StallModel = 0 };
        var stalld = S1 with { Word1 = S1.Word1 | (1UL << 27) };

        Assert.That(ConfigurationValidity.CdIllegal(stalld, Cd with { Word0 = Cd.Word0 | (1UL << 44) }, features), Is.True);
    }

    [Test]
    public void An_ILLEGAL_STE_aborts_with_C_BAD_STE_and_is_not_cached()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        bench.WriteSte(Sid, Word2(SmmuTestBench.Stage2Ste(vmid: 3, s2.Root), sl0: 0));

        var status = bench.DmaRead(Sid, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.DrainEvents().Select(e => (e.Id, e.StreamId)), Is.EqualTo(new[] { (SmmuEventId.C_BAD_STE, Sid) }));
            Assert.That(bench.Smmu.ConfigCache.TryGetSte(Sid, out _), Is.False);
        }
    }

    [TestCase(1UL)]
    [TestCase(2UL)]
    [TestCase(3UL)]
    public void A_reserved_Config_aborts_like_0b000_without_an_event(ulong config)
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, new StreamTableEntry(1 | (config << 1), 0, ~0UL, ~0UL));

        var status = bench.DmaRead(Sid, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.EventqProd, Is.Zero);
        }
    }

    [Test]
    public void An_ILLEGAL_CD_aborts_with_C_BAD_CD()
    {
        using var bench = new SmmuTestBench();
        var cd = SmmuTestBench.Cd(1, bench.NewStage1Table().Root);
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(cd with { Word0 = cd.Word0 & ~(1UL << 30) })));

        var status = bench.DmaRead(Sid, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.DrainEvents().Select(e => e.Id), Is.EqualTo(new[] { SmmuEventId.C_BAD_CD }), "EPD1 = 0 with an invalid T1SZ");
        }
    }

    [Test]
    public void EPD0_makes_a_TLB_miss_an_F_TRANSLATION_without_a_walk()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        var page = bench.DataPage(0x5A);
        table.Map(0x4000, page.BaseAddress, 4096, IommuProtection.Read);
        var cd = SmmuTestBench.Cd(1, table.Root);
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(cd with { Word0 = cd.Word0 | (1UL << 14) })));

        var status = bench.DmaRead(Sid, 0x4000, out _);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(events.Select(e => (e.Id, e.Class, e.InputAddress)), Is.EqualTo(new[] { (SmmuEventId.F_TRANSLATION, 2, 0x4000UL) }));
            Assert.That(bench.Smmu.Iotlb.Count, Is.Zero);
        }
    }

    [TestCase(0UL, SmmuEventId.F_STREAM_DISABLED, DmaStatus.Blocked, TestName = "S1DSS 0b00 terminates with F_STREAM_DISABLED")]
    [TestCase(3UL, SmmuEventId.F_STREAM_DISABLED, DmaStatus.Blocked, TestName = "S1DSS 0b11 (reserved) behaves as 0b00")]
    public void With_substreams_enabled_a_transaction_without_a_SubstreamID_follows_S1DSS(ulong s1dss, SmmuEventId expected, DmaStatus status)
    {
        using var bench = new SmmuTestBench();
        var ste = SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(1, bench.NewStage1Table().Root)));
        bench.WriteSte(Sid, ste with { Word0 = ste.Word0 | (1UL << 59), Word1 = ste.Word1 | s1dss });

        var result = bench.DmaRead(Sid, 0x4000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result, Is.EqualTo(status));
            Assert.That(bench.DrainEvents().Select(e => e.Id), Is.EqualTo(new[] { expected }));
        }
    }

    [Test]
    public void S1DSS_0b01_bypasses_stage_1_and_0b10_uses_the_CD_of_substream_0()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        var page = bench.DataPage(0x77);
        table.Map(0x4000, page.BaseAddress, 4096, IommuProtection.Read);
        var ste = SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(1, table.Root)));
        ste = ste with { Word0 = ste.Word0 | (1UL << 59) };

        bench.WriteSte(Sid, ste with { Word1 = ste.Word1 | 1 });
        var bypass = bench.Smmu.Translate(Sid, 0x4000, write: false, out ulong bypassPa);
        bench.WriteSte(Sid + 1, ste with { Word1 = ste.Word1 | 2 });
        var substream0 = bench.Smmu.Translate(Sid + 1, 0x4000, write: false, out ulong cd0Pa);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((bypass, bypassPa), Is.EqualTo((DmaStatus.Ok, 0x4000UL)));
            Assert.That((substream0, cd0Pa), Is.EqualTo((DmaStatus.Ok, page.BaseAddress)));
        }
    }

    [Test]
    public void Without_CR2_RECINVSID_a_StreamID_beyond_the_table_aborts_silently()
    {
        using var bench = new SmmuTestBench();
        bench.Write(SmmuRegister.CR2, 0);

        var status = bench.DmaRead(1u << SmmuTestBench.StreamTableLog2, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.EventqProd, Is.Zero);
        }
    }

    [TestCase(0, false, TestName = "L1STD Span 0: invalid")]
    [TestCase(7, true, TestName = "L1STD Span SPLIT+1: valid")]
    [TestCase(8, false, TestName = "L1STD Span above SPLIT+1: invalid")]
    [TestCase(12, false, TestName = "L1STD Span 12 (reserved) behaves as 0")]
    public void A_two_level_stream_table_honours_the_L1STD_Span(int span, bool valid)
    {
        using var bench = new SmmuTestBench();
        var l2 = bench.Memory.Allocate(StreamTableEntry.Size << 7, StreamTableEntry.Size << 7);
        var l1 = bench.Memory.Allocate(4 * 8);
        BinaryPrimitives.WriteUInt64LittleEndian(l1.Span, l2.BaseAddress | (uint)span);
        SmmuTestBench.BypassSte().Write(l2.Span[(int)(Sid * StreamTableEntry.Size)..]);
        bench.Write(SmmuRegister.CR0, 0);
        bench.Write(SmmuRegister.STRTAB_BASE, l1.BaseAddress, 8);
        bench.Write(SmmuRegister.STRTAB_BASE_CFG, 8 | (6u << 6) | (1u << 16)); // LOG2SIZE 8, SPLIT 6, FMT 2-level
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0EventqEn | SmmuTestBench.Cr0CmdqEn);

        var status = bench.Smmu.Translate(Sid, 0x1234, write: false, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(valid ? DmaStatus.Ok : DmaStatus.Blocked));
            Assert.That(bench.DrainEvents().Select(e => e.Id), Is.EqualTo(valid ? Array.Empty<SmmuEventId>() : new[] { SmmuEventId.C_BAD_STREAMID }));
        }
    }

    private static StreamTableEntry Word2(StreamTableEntry ste, int t0sz = 25, int sl0 = 1, int tg = 0) =>
        ste with { Word2 = (ste.Word2 & ~((0x3FUL << 32) | (3UL << 38) | (3UL << 46))) | ((ulong)t0sz << 32) | ((ulong)sl0 << 38) | ((ulong)tg << 46) };

    private static ContextDescriptor T0(ContextDescriptor cd, int t0sz) => cd with { Word0 = (cd.Word0 & ~0x3FUL) | (uint)t0sz };

    private static TestCaseData Case(object structure, SmmuV3Features features, string name) =>
        new TestCaseData(structure, features).SetArgDisplayNames(name);
}
