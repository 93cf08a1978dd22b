using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// What each STE configuration does to a transaction (spec §5.2, §6.3.14): abort, bypass, stage-2 translation, and
/// GBPA while SMMUEN is clear.
/// </summary>
[TestFixture]
public class StreamTableTests
{
    private const uint Sid = 2;

    [Test]
    public void An_abort_STE_blocks_DMA_without_an_event()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.AbortSte());

        var status = bench.Smmu.Translate(Sid, 0x1000, write: false, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.EventqProd, Is.Zero);
        }
    }

    [Test]
    public void A_bypass_STE_passes_the_address_through_and_caches_no_translation()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.BypassSte());

        var status = bench.Smmu.Translate(Sid, 0x1_2345_6789, write: true, out ulong pa);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Ok));
            Assert.That(pa, Is.EqualTo(0x1_2345_6789UL));
            Assert.That(bench.Smmu.Iotlb.Count, Is.Zero);
        }
    }

    [Test]
    public void A_stage_2_STE_translates_IPAs_and_tags_the_IOTLB_entry_with_its_VMID()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        var page = bench.DataPage(0x6B);
        s2.Map(0x4000_0000, page.BaseAddress, 4096, IommuProtection.Read | IommuProtection.Write);
        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 3, s2.Root));

        var translated = bench.Smmu.Translate(Sid, 0x4000_0ABC, write: false, out ulong pa);
        var dma = bench.DmaRead(Sid, 0x4000_0FF0, out var data, length: 16);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(translated, Is.EqualTo(DmaStatus.Ok));
            Assert.That(pa, Is.EqualTo(page.BaseAddress + 0xABC));
            Assert.That(dma, Is.EqualTo(DmaStatus.Ok));
            Assert.That(data, Is.All.EqualTo((byte)0x6B));
            Assert.That(bench.Smmu.Iotlb.Snapshot(), Is.EqualTo(new[] { new TlbEntry(3, TlbEntry.NoAsid, TlbStage.Stage2, 0x4000_0000, 12, 3, page.BaseAddress, true, true) }));
        }
    }

    [Test]
    public void A_write_through_a_read_only_stage_2_mapping_records_F_PERMISSION_with_S2()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        s2.Map(0x4000_0000, bench.DataPage(0).BaseAddress, 4096, IommuProtection.Read);
        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 3, s2.Root));

        var status = bench.DmaWrite(Sid, 0x4000_0040, 0xAA, 8);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.PermissionFault));
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_0002_0000_0013UL));
            Assert.That(bench.EventWord(0, 1), Is.EqualTo(0x0000_0280_0000_0000UL), "CLASS = IN, S2, RnW = 0");
        }
    }

    [Test]
    public void A_DMA_that_crosses_into_an_unmapped_page_stops_there()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        s2.Map(0x4000_0000, bench.DataPage(0x10).BaseAddress, 4096, IommuProtection.Read);
        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 3, s2.Root));

        var status = bench.DmaRead(Sid, 0x4000_0FF0, out var data, length: 32);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(data[..16], Is.All.EqualTo((byte)0x10));
            Assert.That(bench.EventWord(0, 2), Is.EqualTo(0x4000_1000UL), "the fault is at the first byte of the next page");
        }
    }

    [TestCase(true, DmaStatus.Blocked)]
    [TestCase(false, DmaStatus.Ok)]
    public void With_SMMUEN_clear_GBPA_ABORT_decides(bool abort, DmaStatus expected)
    {
        using var bench = new SmmuTestBench(enable: false);
        bench.Write(SmmuRegister.GBPA, (1u << 31) | (abort ? 1u << 20 : 0));

        var status = bench.Smmu.Translate(Sid, 0x1234, write: false, out ulong pa);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(expected));
            Assert.That(pa, Is.EqualTo(abort ? 0UL : 0x1234UL));
            Assert.That(bench.Read(SmmuRegister.GBPA), Is.EqualTo(abort ? 1UL << 20 : 0UL), "GBPA.Update reads 0 once done");
        }
    }
}
