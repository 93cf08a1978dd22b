using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// What the SMMUv3 model deliberately does not reproduce, each listed in the README ("Where this differs from
/// upstream"): the behaviour it has instead is pinned here so that a change to it is a decision.
/// </summary>
[TestFixture]
public class ModelLimitsTests
{
    private const uint Sid = 6;

    [Test]
    public void On_SMMUv3_0_the_CONSTRAINED_UNPREDICTABLE_checks_take_the_SMMUv3_1_rule_ILLEGAL()
    {
        var v30 = new SmmuV3Features { ArchMinorRevision = 0, StallModel = 0 };
        var s2 = SmmuTestBench.Stage2Ste(vmid: 1, s2ttb: 0x8000_0000);
        var cd = SmmuTestBench.Cd(1, 0x8000_1000);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ConfigurationValidity.SteIllegal(s2 with { Word2 = (s2.Word2 & ~(0x3FUL << 32)) | (40UL << 32) }, v30), Is.True, "S2T0SZ out of range (§5.2)");
            Assert.That(ConfigurationValidity.SteIllegal(s2 with { Word1 = 1UL << 28, Word2 = s2.Word2 | (1UL << 57) }, v30), Is.True, "EATS 0b01 with S2S (§5.2)");
            Assert.That(ConfigurationValidity.CdIllegal(SmmuTestBench.Stage1Ste(0x8000_0000), cd with { Word0 = (cd.Word0 & ~0x3FUL) | 40 }, v30), Is.True, "T0SZ out of range (§5.4)");
        }
    }

    [Test]
    public void An_EL2_StreamWorld_STE_translates_as_NS_EL1()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { Hyp = true });
        var table = bench.NewStage1Table();
        var page = bench.DataPage(0x44);
        table.Map(0x3000, page.BaseAddress, 4096, IommuProtection.Read);
        var ste = SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(9, table.Root)));
        bench.WriteSte(Sid, ste with { Word1 = ste.Word1 | (2UL << 30) }); // STRW = EL2

        var status = bench.Smmu.Translate(Sid, 0x3000, write: false, out ulong pa);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((status, pa), Is.EqualTo((DmaStatus.Ok, page.BaseAddress)));
            Assert.That(bench.Smmu.Iotlb.Snapshot().Single().Asid, Is.EqualTo(9), "tagged with the ASID, as NS-EL1 (EL2 has none)");
        }
    }

    [Test]
    public void TTB1_is_not_walked_an_upper_half_address_is_F_TRANSLATION_even_with_EPD1_clear()
    {
        using var bench = new SmmuTestBench();
        var cd = SmmuTestBench.Cd(1, bench.NewStage1Table().Root);
        var ttb1 = bench.NewStage1Table();
        ttb1.Map(0x0000_FFFF_FFFF_F000, bench.DataPage(1).BaseAddress, 4096, IommuProtection.Read);
        var withTtb1 = cd with { Word0 = (cd.Word0 & ~(1UL << 30)) | (16UL << 16) | (2UL << 22), Word2 = ttb1.Root };
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(withTtb1)));

        var status = bench.DmaRead(Sid, 0xFFFF_FFFF_FFFF_F000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(bench.DrainEvents().Select(e => e.Id), Is.EqualTo(new[] { SmmuEventId.F_TRANSLATION }));
        }
    }

    [Test]
    public void Stalls_are_not_modelled_a_CD_with_S_terminates_its_faults()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { StallModel = 0 });
        var cd = SmmuTestBench.Cd(1, bench.NewStage1Table().Root);
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(cd with { Word0 = cd.Word0 | (1UL << 44) })));

        var status = bench.DmaRead(Sid, 0x5000, out _);
        var e = bench.DrainEvents().Single();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That((e.Id, e.Word1 & (1UL << 31)), Is.EqualTo((SmmuEventId.F_TRANSLATION, 0UL)), "Stall = 0: terminated, no RESUME awaited");
        }
    }

    [Test]
    public void L1CDs_are_not_cached_a_rewritten_L1CD_is_used_without_CFGI_CD()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { TwoLevelCdTable = true });
        var table = bench.NewStage1Table();
        var page = bench.DataPage(0x21);
        table.Map(0x3000, page.BaseAddress, 4096, IommuProtection.Read);
        var l1 = bench.Memory.Allocate(4096);
        var leafA = bench.Memory.Allocate(4096);
        var leafB = bench.Memory.Allocate(4096);
        SmmuTestBench.Cd(1, table.Root).Write(leafB.Span[(2 * ContextDescriptor.Size)..]);
        BitConverter.TryWriteBytes(l1.Span, leafA.BaseAddress | 1); // L1CD 0 → leaf A, whose CDs are all invalid
        var ste = SmmuTestBench.Stage1Ste(l1.BaseAddress);
        bench.WriteSte(Sid, ste with { Word0 = ste.Word0 | (6UL << 59) | (1UL << 4), Word1 = ste.Word1 | 1 }); // S1CDMax 6, 4K leaves

        var before = bench.Smmu.Translate(Sid, 2, 0x3000, write: false, out _);
        BitConverter.TryWriteBytes(l1.Span, leafB.BaseAddress | 1);
        var after = bench.Smmu.Translate(Sid, 2, 0x3000, write: false, out ulong pa);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.EqualTo(DmaStatus.Blocked), "C_BAD_CD through leaf A");
            Assert.That((after, pa), Is.EqualTo((DmaStatus.Ok, page.BaseAddress)), "the new L1CD, read again without CFGI_CD (Leaf = 0)");
        }
    }

    [Test]
    public void Split_stage_ATS_is_not_modelled_EATS_0b10_caches_nothing_in_the_ATC()
    {
        using var bench = new SmmuTestBench();
        bench.Smmu.ConnectEndpoint(new Iommufd.Core.Devices.EndpointDevice("ats", Sid, atsCapable: true, null!));
        var ram = new GuestRam(bench.Memory, 64 * 1024);
        var s2 = bench.NewStage2Table();
        s2.Map(GuestRam.IpaBase, ram.Bank.BaseAddress, ram.Size, IommuProtection.Read | IommuProtection.Write);
        var s1 = new Iommufd.ArmSmmuV3.Driver.AArch64PageTable(ram, SmmuTestBench.Stage1Format, stage2: false);
        s1.Map(0x3000, ram.Allocate(4096), 4096, IommuProtection.Read);
        ulong cdIpa = ram.Allocate(64);
        SmmuTestBench.Cd(1, s1.Root).Write(ram.Span(cdIpa, 64));
        var ste = SmmuTestBench.NestedSte(cdIpa, vmid: 2, s2.Root);
        bench.WriteSte(Sid, ste with { Word1 = 2UL << 28 });

        var status = bench.Smmu.Translate(Sid, 0x3000, write: false, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Ok), "legal (Config 0b111, S2S = 0) and translated by the SMMU");
            Assert.That(bench.Smmu.GetAtc(Sid)!.Count, Is.Zero, "behaves as EATS 0b00, as with SMMU_CR0.ATSCHK = 0");
        }
    }
}
