using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// Event records that tell the truth (Arm IHI 0070 §7.3): FetchAddr of STE, CD and walk aborts, CLASS (CD, TT,
/// IN), InputAddr and RnW of the transaction rather than of the walk, S2 and IPA for stage-2 faults inside a
/// nested walk (also for the permissions of a combined entry), and F_ADDR_SIZE against CD.IPS, STE.S2PS and, with stage 1 bypassed, the IAS; with every stage bypassed
/// (STE or SMMUEN = 0) against the OAS (§3.4).
/// </summary>
[TestFixture]
public class EventRecordTests
{
    private const uint Sid = 5;
    private const int ClassCd = 0, ClassTt = 1, ClassIn = 2;

    [Test]
    public void An_STE_that_cannot_be_read_is_F_STE_FETCH_with_its_address()
    {
        using var bench = new SmmuTestBench();
        bench.Write(SmmuRegister.CR0, 0);
        bench.Write(SmmuRegister.STRTAB_BASE, SmmuTestBench.UnbackedAddress, 8);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0EventqEn | SmmuTestBench.Cr0CmdqEn);

        bench.DmaRead(Sid, 0x1000, out _);

        var e = bench.DrainEvents().Single();
        Assert.That((e.Id, e.StreamId, e.FetchAddress), Is.EqualTo((SmmuEventId.F_STE_FETCH, Sid, SmmuTestBench.UnbackedAddress + (Sid * 64))));
    }

    [Test]
    public void A_CD_that_cannot_be_read_is_F_CD_FETCH_with_its_address()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(SmmuTestBench.UnbackedAddress + 0x40));

        bench.DmaRead(Sid, 0x1000, out _);

        var e = bench.DrainEvents().Single();
        Assert.That((e.Id, e.FetchAddress), Is.EqualTo((SmmuEventId.F_CD_FETCH, SmmuTestBench.UnbackedAddress + 0x40)));
    }

    [Test]
    public void A_stage_1_table_that_cannot_be_read_is_F_WALK_EABT_CLASS_TT_with_the_descriptor_address()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(1, SmmuTestBench.UnbackedAddress))));

        bench.DmaWrite(Sid, 0x0000_8000_0000_1230, 0xFF, 4);

        var e = bench.DrainEvents().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(e.Id, Is.EqualTo(SmmuEventId.F_WALK_EABT));
            Assert.That((e.Stage2, e.Class, e.IsRead), Is.EqualTo((false, ClassTt, false)), "S2 = 0, CLASS = TT, RnW of the write");
            Assert.That(e.InputAddress, Is.EqualTo(0x0000_8000_0000_1230UL));
            Assert.That(e.FetchAddress, Is.EqualTo(SmmuTestBench.UnbackedAddress + (0x100 * 8)), "the level-0 entry for VA bit 47");
        }
    }

    [Test]
    public void A_stage_2_fault_fetching_the_CD_is_CLASS_CD_with_the_CD_IPA_and_the_transaction_address()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        bench.WriteSte(Sid, SmmuTestBench.NestedSte(cdIpa: 0x5000_0040, vmid: 4, s2.Root));

        bench.DmaWrite(Sid, 0x7000_0008, 0xFF, 4);

        var e = bench.DrainEvents().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((e.Id, e.Stage2, e.Class), Is.EqualTo((SmmuEventId.F_TRANSLATION, true, ClassCd)));
            Assert.That((e.InputAddress, e.IsRead), Is.EqualTo((0x7000_0008UL, false)), "the transaction's, not the CD fetch's");
            Assert.That(e.Ipa, Is.EqualTo(0x5000_0000UL), "the CD's IPA");
        }
    }

    [Test]
    public void A_stage_2_fault_walking_the_stage_1_table_is_CLASS_TT_with_the_descriptor_IPA()
    {
        using var bench = new SmmuTestBench();
        var nested = new NestedBench(bench);
        nested.S2.Unmap(nested.Stage1TableIpa & ~0xFFFUL, 4096); // the guest's level-0 table is no longer reachable

        bench.DmaRead(Sid, 0x7000_0000, out _);

        var e = bench.DrainEvents().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((e.Id, e.Stage2, e.Class, e.IsRead), Is.EqualTo((SmmuEventId.F_TRANSLATION, true, ClassTt, true)));
            Assert.That(e.InputAddress, Is.EqualTo(0x7000_0000UL));
            Assert.That(e.Ipa, Is.EqualTo(nested.Stage1TableIpa));
        }
    }

    [Test]
    public void A_stage_2_permission_fault_of_a_stage_1_table_read_sets_TTRnW()
    {
        using var bench = new SmmuTestBench();
        var nested = new NestedBench(bench);
        nested.S2.Unmap(nested.Stage1TableIpa & ~0xFFFUL, 4096);
        nested.S2.Map(nested.Stage1TableIpa & ~0xFFFUL, nested.Stage1TablePa & ~0xFFFUL, 4096, IommuProtection.Write);

        bench.DmaWrite(Sid, 0x7000_0000, 0x11, 4);

        var e = bench.DrainEvents().Single();
        Assert.That((e.Id, e.Stage2, e.Class, e.IsRead, e.TableRead), Is.EqualTo((SmmuEventId.F_PERMISSION, true, ClassTt, false, true)));
    }

    [TestCase(true, TestName = "A combined entry's stage 2 forbidding the write is F_PERMISSION S2 with the IPA")]
    [TestCase(false, TestName = "A combined entry's stage 1 forbidding the write is F_PERMISSION at stage 1")]
    public void A_permission_fault_of_a_combined_nested_entry_names_the_stage_that_forbids_it(bool stage2Forbids)
    {
        using var bench = new SmmuTestBench();
        var nested = new NestedBench(bench);
        var data = bench.DataPage(0);
        nested.S2.Map(0x6000_0000, data.BaseAddress, 4096, stage2Forbids ? IommuProtection.Read : IommuProtection.Read | IommuProtection.Write);
        nested.S1.Map(0x7000_0000, 0x6000_0000, 4096, stage2Forbids ? IommuProtection.Read | IommuProtection.Write : IommuProtection.Read);
        Assert.That(bench.DmaRead(Sid, 0x7000_0000, out _), Is.EqualTo(DmaStatus.Ok), "the combined entry is cached");

        var status = bench.DmaWrite(Sid, 0x7000_0010, 0x22, 4);

        var e = bench.DrainEvents().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.PermissionFault));
            Assert.That((e.Id, e.Stage2, e.Class, e.IsRead, e.InputAddress), Is.EqualTo((SmmuEventId.F_PERMISSION, stage2Forbids, ClassIn, false, 0x7000_0010UL)));
            Assert.That(e.Ipa, Is.EqualTo(stage2Forbids ? 0x6000_0000UL : 0UL));
        }
    }

    [Test]
    public void A_stage_1_output_beyond_CD_IPS_is_F_ADDR_SIZE_at_stage_1()
    {
        using var bench = new SmmuTestBench();
        var table = bench.NewStage1Table();
        table.Map(0x7000_0000, 0x1_0000_0000, 4096, IommuProtection.Read); // 33 bits
        var cd = SmmuTestBench.Cd(1, table.Root);
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(cd with { Word0 = cd.Word0 & ~(7UL << 32) }))); // IPS 32 bits

        var status = bench.DmaRead(Sid, 0x7000_0000, out _);

        var e = bench.DrainEvents().Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That((e.Id, e.Stage2, e.Class), Is.EqualTo((SmmuEventId.F_ADDR_SIZE, false, ClassIn)));
        }
    }

    [TestCase(false, TestName = "Config 0b110: stage 1 disabled")]
    [TestCase(true, TestName = "Config 0b111 with S1DSS 0b01: stage 1 bypassed for traffic without a SubstreamID")]
    public void With_stage_1_bypassed_an_input_beyond_the_IAS_is_F_ADDR_SIZE_at_stage_1_before_stage_2(bool nestedBypass)
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { OutputAddressBits = 40 });
        var s2 = bench.NewStage2Table();
        var ste = nestedBypass
            ? SmmuTestBench.NestedSte(0, vmid: 2, s2.Root) with { Word1 = 1 }
            : SmmuTestBench.Stage2Ste(vmid: 2, s2.Root);
        bench.WriteSte(Sid, nestedBypass ? ste with { Word0 = ste.Word0 | (1UL << 59) } : ste);
        bench.WriteSte(Sid + 1, SmmuTestBench.Stage2Ste(vmid: 3, s2.Root, record: false));

        var beyondIas = bench.DmaRead(Sid, 1UL << 40, out _);
        var beyondS2Input = bench.DmaRead(Sid, 1UL << 39, out _); // within the 40-bit IAS, beyond S2T0SZ's 39 bits
        var unrecorded = bench.DmaRead(Sid + 1, 1UL << 40, out _);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That((beyondIas, beyondS2Input, unrecorded), Is.EqualTo((DmaStatus.TranslationFault, DmaStatus.TranslationFault, DmaStatus.TranslationFault)));
            Assert.That(events.Select(e => (e.Id, e.Stage2, e.Class, e.InputAddress)), Is.EqualTo(new[]
            {
                (SmmuEventId.F_ADDR_SIZE, false, ClassIn, 1UL << 40), // IHI 0070 §3.4.1, §5.2 S1DSS 0b01
                (SmmuEventId.F_TRANSLATION, true, ClassIn, 1UL << 39),
            }), "recorded as STE.S2R says: nothing for the second stream");
        }
    }

    [TestCase(false, TestName = "Config 0b100: an input beyond the OAS is F_ADDR_SIZE at stage 1")]
    [TestCase(true, TestName = "Config 0b101 with S1DSS 0b01 and no stage 2: an input beyond the OAS is F_ADDR_SIZE at stage 1")]
    public void With_every_stage_bypassed_an_input_beyond_the_OAS_aborts_with_a_recorded_F_ADDR_SIZE(bool s1dssBypass)
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { OutputAddressBits = 40 });
        var page = bench.DataPage(0x5A);
        var ste = s1dssBypass
            ? SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(1, 0))) with { Word1 = 1 } // S1DSS = bypass
            : SmmuTestBench.BypassSte();
        bench.WriteSte(Sid, s1dssBypass ? ste with { Word0 = ste.Word0 | (1UL << 59) } : ste); // S1CDMax 1

        var within = bench.DmaRead(Sid, page.BaseAddress, out byte[] data);
        var beyond = bench.DmaWrite(Sid, (1UL << 40) | page.BaseAddress, 0xEE);
        var events = bench.DrainEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That((within, data[0]), Is.EqualTo((DmaStatus.Ok, (byte)0x5A)));
            Assert.That(beyond, Is.EqualTo(DmaStatus.TranslationFault), "aborted, never truncated to the OAS");
            Assert.That(page.Span[0], Is.EqualTo((byte)0x5A));
            // IHI 0070 §3.4: with all stages bypassed the address is checked against the OAS, a stage-1 F_ADDR_SIZE;
            // no CD.R or STE.S2R applies, so it is always recorded. InputAddr and RnW are the transaction's.
            Assert.That(events.Select(e => (e.Id, e.Stage2, e.Class, e.InputAddress, e.IsRead)), Is.EqualTo(new[]
            {
                (SmmuEventId.F_ADDR_SIZE, false, ClassIn, (1UL << 40) | page.BaseAddress, false),
            }));
        }
    }

    [Test]
    public void With_SMMUEN_clear_and_GBPA_bypassing_an_input_beyond_the_OAS_aborts_without_an_event()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { OutputAddressBits = 40 });
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0EventqEn | SmmuTestBench.Cr0CmdqEn); // SMMUEN = 0, GBPA.ABORT = 0

        var within = bench.Smmu.Translate(Sid, (1UL << 40) - 8, write: false, out ulong pa);
        var beyond = bench.Smmu.Translate(Sid, 1UL << 40, write: false, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((within, pa), Is.EqualTo((DmaStatus.Ok, (1UL << 40) - 8)));
            Assert.That(beyond, Is.EqualTo(DmaStatus.Blocked), "IHI 0070 §3.4: terminated with an abort");
            Assert.That(bench.DrainEvents(), Is.Empty, "and no event is recorded while SMMUEN = 0");
        }
    }

    [Test]
    public void A_stage_2_output_beyond_S2PS_is_F_ADDR_SIZE_at_stage_2_with_the_IPA()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        s2.Map(0x4000_0000, 0x1_0000_0000, 4096, IommuProtection.Read);
        var ste = SmmuTestBench.Stage2Ste(vmid: 2, s2.Root);
        bench.WriteSte(Sid, ste with { Word2 = ste.Word2 & ~(7UL << 48) }); // S2PS 32 bits

        bench.DmaRead(Sid, 0x4000_0100, out _);

        var e = bench.DrainEvents().Single();
        Assert.That((e.Id, e.Stage2, e.Class, e.Ipa), Is.EqualTo((SmmuEventId.F_ADDR_SIZE, true, ClassIn, 0x4000_0000UL)));
    }

    /// <summary>
    /// A nested STE for <see cref="Sid"/>: guest RAM behind stage 2, the CD and the guest's stage-1 tables in it. A
    /// first access caches the CD (its F_TRANSLATION drained), so later faults come from the walk.
    /// </summary>
    private sealed class NestedBench
    {
        public NestedBench(SmmuTestBench bench)
        {
            Ram = new GuestRam(bench.Memory, 64 * 1024);
            S2 = bench.NewStage2Table();
            S2.Map(GuestRam.IpaBase, Ram.Bank.BaseAddress, Ram.Size, IommuProtection.Read | IommuProtection.Write);
            S1 = new Iommufd.ArmSmmuV3.Driver.AArch64PageTable(Ram, SmmuTestBench.Stage1Format, stage2: false);
            ulong cdIpa = Ram.Allocate(64);
            SmmuTestBench.Cd(1, S1.Root).Write(Ram.Span(cdIpa, 64));
            bench.WriteSte(Sid, SmmuTestBench.NestedSte(cdIpa, vmid: 4, S2.Root));
            bench.DmaRead(Sid, 0x7FF0_0000, out _);
            bench.DrainEvents();
        }

        public GuestRam Ram { get; }

        public ulong Stage1TableIpa => S1.Root;

        public ulong Stage1TablePa => Ram.ToPhysical(S1.Root);

        public Iommufd.ArmSmmuV3.Driver.AArch64PageTable S1 { get; }

        public Iommufd.ArmSmmuV3.Driver.AArch64PageTable S2 { get; }
    }
}
