using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Devices;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// Command-queue errors (Arm IHI 0070 §4.1.3, §6.3.19, §7.1): which commands give CERROR_ILL on this SMMU,
/// CERROR_ABT and CERROR_ATC_INV_SYNC, and what CONS, CONS.ERR, GERROR and GERRORN do around an error.
/// </summary>
[TestFixture]
public class CommandErrorTests
{
    private const uint CERROR_ILL = 1;
    private const uint CERROR_ABT = 2;
    private const uint CERROR_ATC_INV_SYNC = 3;
    private const uint CMDQ_ERR = 1;

    private static readonly SmmuV3Features Full = new();

    [TestCaseSource(nameof(IllegalCommands))]
    public void An_illegal_command_stops_the_queue_on_itself_with_CERROR_ILL(SmmuV3Features features, SmmuCommand command)
    {
        using var bench = new SmmuTestBench(features);

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_NONE), command, CmdSync(SmmuCommand.CS_SIG_NONE));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqConsRd, Is.EqualTo(1), "CONS.RD stays on the illegal entry");
            Assert.That(bench.CmdqConsErr, Is.EqualTo(CERROR_ILL));
            Assert.That(bench.Gerror & CMDQ_ERR, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Gerrorn, Is.Zero);
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(1), "the CMD_SYNC after the illegal entry is not consumed");
        }
    }

    [TestCaseSource(nameof(LegalCommands))]
    public void A_command_legal_on_this_configuration_is_consumed_without_error(SmmuV3Features features, SmmuCommand command)
    {
        using var bench = new SmmuTestBench(features);

        bench.Submit(command, CmdSync(SmmuCommand.CS_SIG_NONE));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqConsRd, Is.EqualTo(2));
            Assert.That(bench.CmdqConsErr, Is.Zero);
            Assert.That(bench.Gerror, Is.Zero);
            Assert.That(bench.Smmu.CommandQueue.Consumed, Is.EqualTo(2));
        }
    }

    [Test]
    public void A_command_queue_in_unbacked_memory_gives_CERROR_ABT_and_CONS_does_not_move()
    {
        using var bench = new SmmuTestBench();
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0EventqEn);
        bench.Write(SmmuRegister.CMDQ_BASE, SmmuTestBench.UnbackedAddress | 5, 8);
        bench.Write(SmmuRegister.CMDQ_PROD, 0);
        bench.Write(SmmuRegister.CMDQ_CONS, 0);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0EventqEn | SmmuTestBench.Cr0CmdqEn);

        bench.Write(SmmuRegister.CMDQ_PROD, 2);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqCons, Is.EqualTo(CERROR_ABT << 24), "RD = 0 and ERR = CERROR_ABT");
            Assert.That(bench.Gerror, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Smmu.CommandQueue.Consumed, Is.Zero);
        }
    }

    [Test]
    public void After_CERROR_ABT_an_acknowledge_fetches_the_same_entry_again()
    {
        using var bench = new SmmuTestBench();
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn);
        bench.Write(SmmuRegister.CMDQ_BASE, SmmuTestBench.UnbackedAddress | 5, 8);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0CmdqEn);
        bench.Write(SmmuRegister.CMDQ_PROD, 1);

        bench.AcknowledgeErrors();

        using (Assert.EnterMultipleScope())
        {
            // The retry fails the same way, so the error is raised again: GERROR toggles back to 0 while GERRORN is 1.
            Assert.That(bench.Gerror, Is.Zero);
            Assert.That(bench.Gerrorn, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.True);
            Assert.That(bench.CmdqCons, Is.EqualTo(CERROR_ABT << 24));
        }
    }

    [Test]
    public void A_CMD_SYNC_after_a_timed_out_ATC_INV_fails_with_CERROR_ATC_INV_SYNC_and_stays_on_the_sync()
    {
        using var bench = new SmmuTestBench();
        var device = new EndpointDevice("nic", 7, atsCapable: true, null!) { AtsInvalidationsTimeOut = true };
        bench.Smmu.ConnectEndpoint(device);

        bench.Submit(
            AtcInv(7, 0, ssv: false, global: false, address: 0, size: 52),
            bench.SyncWithMsi(0, 0xD0E),
            CmdSync(SmmuCommand.CS_SIG_NONE));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqConsRd, Is.EqualTo(1), "the ATC_INV was consumed, CONS is on the CMD_SYNC");
            Assert.That(bench.CmdqConsErr, Is.EqualTo(CERROR_ATC_INV_SYNC));
            Assert.That(bench.Gerror, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Smmu.SyncsCompleted, Is.Zero);
            Assert.That(bench.ReadMsi(0), Is.Zero, "no completion signal for the failed CMD_SYNC");
        }
    }

    [Test]
    public void After_CERROR_ATC_INV_SYNC_is_acknowledged_the_same_CMD_SYNC_runs_again_and_completes()
    {
        using var bench = new SmmuTestBench();
        var device = new EndpointDevice("nic", 7, atsCapable: true, null!) { AtsInvalidationsTimeOut = true };
        bench.Smmu.ConnectEndpoint(device);
        bench.Submit(AtcInv(7, 0, ssv: false, global: false, address: 0, size: 52), bench.SyncWithMsi(0, 0xD0E), CmdSync(0));

        bench.AcknowledgeErrors(); // Linux leaves the CMD_SYNC in place for this error

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqConsRd, Is.EqualTo(3));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(2));
            Assert.That(bench.ReadMsi(0), Is.EqualTo(0xD0E));
        }
    }

    [Test]
    public void An_ATC_INV_to_an_answering_endpoint_lets_the_CMD_SYNC_complete()
    {
        using var bench = new SmmuTestBench();
        bench.Smmu.ConnectEndpoint(new EndpointDevice("nic", 7, atsCapable: true, null!));

        bench.Submit(AtcInv(7, 0, ssv: false, global: false, address: 0, size: 52), CmdSync(0));

        Assert.That(bench.CmdqCons, Is.EqualTo(2));
    }

    [Test]
    public void An_error_keeps_CONS_on_the_failing_entry_and_counts_older_entries_as_consumed()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(bench.SyncWithMsi(0, 1), bench.SyncWithMsi(1, 2), new SmmuCommand(0x00, 0), bench.SyncWithMsi(3, 4), bench.SyncWithMsi(4, 5));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqCons, Is.EqualTo((CERROR_ILL << 24) | 2), "RD = 2, ERR = CERROR_ILL, bit 31 clear");
            Assert.That(bench.CmdqProd, Is.EqualTo(5));
            Assert.That(bench.Gerror, Is.EqualTo(CMDQ_ERR));
            Assert.That(new[] { bench.ReadMsi(0), bench.ReadMsi(1), bench.ReadMsi(3), bench.ReadMsi(4) }, Is.EqualTo(new uint[] { 1, 2, 0, 0 }));
            Assert.That(bench.Smmu.CommandQueue.Consumed, Is.EqualTo(2));
        }
    }

    [Test]
    public void While_the_error_is_active_another_PROD_write_consumes_nothing()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(new SmmuCommand(0x00, 0), bench.SyncWithMsi(1, 2));

        bench.WriteCommand(0, bench.SyncWithMsi(0, 1)); // fixed in memory, but not yet acknowledged
        bench.Submit(bench.SyncWithMsi(2, 3));
        bench.RingProd();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqCons, Is.EqualTo(CERROR_ILL << 24));
            Assert.That(bench.CmdqProd, Is.EqualTo(3));
            Assert.That(bench.Smmu.SyncsCompleted, Is.Zero);
            Assert.That(new[] { bench.ReadMsi(0), bench.ReadMsi(1), bench.ReadMsi(2) }, Is.All.Zero);
            Assert.That(bench.Gerror, Is.EqualTo(CMDQ_ERR), "no second toggle while the error is active");
        }
    }

    [Test]
    public void Toggling_GERRORN_resumes_from_CONS_after_software_replaced_the_entry_with_a_CMD_SYNC()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(bench.SyncWithMsi(0, 10), new SmmuCommand(0x00, 0), bench.SyncWithMsi(2, 12), bench.SyncWithMsi(3, 13));

        // What Linux's skip path does for CERROR_ILL: overwrite the entry at CONS with a CMD_SYNC, then ack.
        bench.WriteCommand(bench.CmdqConsRd, bench.SyncWithMsi(1, 11));
        bench.Write(SmmuRegister.GERRORN, bench.Gerrorn ^ CMDQ_ERR);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqConsRd, Is.EqualTo(4));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
            Assert.That(bench.Gerror, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Gerrorn, Is.EqualTo(CMDQ_ERR));
            Assert.That(new[] { bench.ReadMsi(0), bench.ReadMsi(1), bench.ReadMsi(2), bench.ReadMsi(3) }, Is.EqualTo(new uint[] { 10, 11, 12, 13 }));
        }
    }

    [Test]
    public void While_the_error_is_active_software_may_move_PROD_back_to_CONS_and_drop_the_rest()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(bench.SyncWithMsi(0, 1), new SmmuCommand(0x00, 0), bench.SyncWithMsi(2, 3), bench.SyncWithMsi(3, 4));

        bench.MoveProdTo(bench.CmdqConsRd);
        bench.AcknowledgeErrors();
        uint consAfterAck = bench.CmdqConsRd;
        bench.Submit(bench.SyncWithMsi(5, 6));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(consAfterAck, Is.EqualTo(1), "nothing left to fetch");
            Assert.That(bench.CmdqCons, Is.EqualTo(2), "the new entry replaced the illegal one and ran");
            Assert.That(new[] { bench.ReadMsi(0), bench.ReadMsi(2), bench.ReadMsi(3), bench.ReadMsi(5) }, Is.EqualTo(new uint[] { 1, 0, 0, 6 }));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
        }
    }

    [Test]
    public void Toggling_CR0_CMDQEN_does_not_acknowledge_the_error()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(new SmmuCommand(0x00, 0), CmdSync(0));
        bench.WriteCommand(0, CmdSync(0));

        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0EventqEn);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0EventqEn | SmmuTestBench.Cr0CmdqEn);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.True);
            Assert.That(bench.CmdqCons, Is.EqualTo(CERROR_ILL << 24));
            Assert.That(bench.Smmu.SyncsCompleted, Is.Zero);
        }
    }

    [Test]
    public void A_second_error_toggles_GERROR_again_only_after_the_first_was_acknowledged()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(new SmmuCommand(0x00, 0), CmdSync(0), new SmmuCommand(0x47, 0), CmdSync(0));
        uint first = bench.Gerror;
        bench.RingProd();
        uint whileActive = bench.Gerror;

        bench.WriteCommand(0, CmdSync(0));
        bench.AcknowledgeErrors();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(CMDQ_ERR));
            Assert.That(whileActive, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Gerror, Is.Zero, "the second error toggled GERROR.CMDQ_ERR back");
            Assert.That(bench.Gerrorn, Is.EqualTo(CMDQ_ERR));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.True);
            Assert.That(bench.CmdqCons, Is.EqualTo((CERROR_ILL << 24) | 2));
        }

        bench.WriteCommand(2, CmdSync(0));
        bench.AcknowledgeErrors();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqConsRd, Is.EqualTo(4));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(4));
        }
    }

    [Test]
    public void A_command_error_raises_the_GERROR_interrupt_only_when_IRQ_CTRL_enables_it()
    {
        using var quiet = new SmmuTestBench();
        quiet.Submit(new SmmuCommand(0x00, 0));

        using var loud = new SmmuTestBench(enable: false);
        loud.Enable(irqCtrl: SmmuTestBench.IrqCtrlGerrorIrqEn);
        loud.Submit(new SmmuCommand(0x00, 0));
        loud.RingProd();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(quiet.Interrupts, Is.Empty);
            Assert.That(loud.Interrupts, Is.EqualTo(new[] { SmmuInterrupt.Gerror }));
            Assert.That(loud.Read(SmmuRegister.IRQ_CTRLACK), Is.EqualTo(SmmuTestBench.IrqCtrlGerrorIrqEn));
        }
    }

    private static IEnumerable<TestCaseData> IllegalCommands()
    {
        var s2Only = Full with { Stage1 = false };
        var s1Only = Full with { Stage2 = false };
        var noRil = Full with { RangeInvalidation = false };

        yield return Case("reserved opcode 0x00", Full, new SmmuCommand(0x00, 0));
        yield return Case("reserved opcode 0x08", Full, new SmmuCommand(0x08, 0));
        yield return Case("reserved opcode 0x47", Full, new SmmuCommand(0x47, 0));
        yield return Case("reserved opcode 0xFF", Full, new SmmuCommand(0xFF, 0));
        yield return Case("IMPDEF opcode 0x80", Full, new SmmuCommand(0x80, 0));
        yield return Case("IMPDEF opcode 0x8F", Full, new SmmuCommand(0x8F, 0));
        yield return Case("SSec on CFGI_STE", Full, CfgiSte(1, leaf: true).WithSSec(true));
        yield return Case("SSec on PREFETCH_CONFIG", Full, PrefetchConfig(1).WithSSec(true));
        yield return Case("RES0 w0[20] in CFGI_STE", Full, new SmmuCommand(0x03 | (1UL << 20) | (1UL << 32), 1));
        yield return Case("RES0 w1[40] in TLBI_NSNH_ALL", Full, new SmmuCommand(0x30, 1UL << 40));
        yield return Case("RES0 w0[8] in CMD_SYNC", Full, new SmmuCommand(0x46 | (1UL << 8), 0));
        yield return Case("RES0 w0[12] in TLBI_NH_ASID", Full, new SmmuCommand(0x11 | (1UL << 12), 0));

        yield return Case("TLBI_NH_ALL without stage 1", s2Only, TlbiNhAll(0));
        yield return Case("TLBI_NH_ASID without stage 1", s2Only, TlbiNhAsid(0, 1));
        yield return Case("TLBI_NH_VA without stage 1", s2Only, TlbiNhVa(0, 1, 0x1000, true, 0, 0, 0, 0));
        yield return Case("TLBI_NH_VAA without stage 1", s2Only, TlbiNhVaa(0, 0x1000, true, 0, 0, 0, 0));
        yield return Case("CFGI_CD without stage 1", s2Only, CfgiCd(1, 0, leaf: true));
        yield return Case("CFGI_CD_ALL without stage 1", s2Only, CfgiCdAll(1));
        yield return Case("TLBI_S12_VMALL without stage 2", s1Only, TlbiS12Vmall(0));
        yield return Case("TLBI_S2_IPA without stage 2", s1Only, TlbiS2Ipa(0, 0x1000, true, 0, 0, 0, 0));
        yield return Case("ATC_INV without ATS", Full with { Ats = false }, AtcInv(1, 0, false, false, 0, 0));
        yield return Case("ATC_INV Size 53", Full, AtcInv(1, 0, false, false, 0, 53));
        yield return Case("ATC_INV Size 63", Full, AtcInv(1, 0, false, false, 0, 63));
        yield return Case("PRI_RESP without PRI", Full, PriResp(1, 0, false, 0, SmmuCommand.RESP_SUCCESS));
        yield return Case("PRI_RESP Resp 3", Full with { Pri = true }, PriResp(1, 0, false, 0, 3));
        yield return Case("RESUME with STALL_MODEL 1", Full, Resume(1, 0, ac: true, ab: false));
        yield return Case("STALL_TERM with STALL_MODEL 1", Full, StallTerm(1));
        yield return Case("TLBI_EL2_ALL without HYP", Full, TlbiEl2All());
        yield return Case("TLBI_EL2_ASID without HYP", Full, TlbiEl2Asid(1));
        yield return Case("TLBI_EL2_VA without HYP", Full, TlbiEl2Va(1, 0x1000, true, 0, 0, 0, 0));
        yield return Case("TLBI_EL2_VAA without HYP", Full, TlbiEl2Vaa(0x1000, true, 0, 0, 0, 0));
        yield return Case("TLBI_EL3_ALL on the Non-secure queue", Full with { Hyp = true }, TlbiEl3All());
        yield return Case("TLBI_EL3_VA on the Non-secure queue", Full with { Hyp = true }, TlbiEl3Va(0x1000, true, 0, 0, 0, 0));
        yield return Case("TLBI_S_EL2_ALL on the Non-secure queue", Full, TlbiSEl2All());
        yield return Case("TLBI_SNH_ALL on the Non-secure queue", Full, TlbiSnhAll());
        yield return Case("CFGI_VMS_PIDM without MPAM", Full, CfgiVmsPidm(1));
        yield return Case("CMD_SYNC CS 3", Full, CmdSync(3));

        yield return Case("NH_VA TG 4K with NUM = SCALE = TTL = 0", Full, TlbiNhVa(0, 1, 0x1000, true, ttl: 0, tg: 1, num: 0, scale: 0));
        yield return Case("NH_VAA TG 64K with NUM = SCALE = TTL = 0", Full, TlbiNhVaa(0, 0x10000, true, ttl: 0, tg: 3, num: 0, scale: 0));
        yield return Case("S2_IPA TG 16K with NUM = SCALE = TTL = 0", Full, TlbiS2Ipa(0, 0x4000, true, ttl: 0, tg: 2, num: 0, scale: 0));
        yield return Case("NH_VA TG 16K TTL 1 without DS (TTL treated as 0)", Full, TlbiNhVa(0, 1, 0x4000, true, ttl: 1, tg: 2, num: 0, scale: 0));
        yield return Case("NH_VA NUM with TG 0", Full, TlbiNhVa(0, 1, 0x1000, true, ttl: 0, tg: 0, num: 1, scale: 0));
        yield return Case("NH_VA TTL with TG 0", Full, TlbiNhVa(0, 1, 0x1000, true, ttl: 3, tg: 0, num: 0, scale: 0));
        yield return Case("NH_VA SCALE 32 without DS", Full, TlbiNhVa(0, 1, 0x1000, true, ttl: 0, tg: 1, num: 0, scale: 32));
        yield return Case("NH_VA NUM without RIL", noRil, TlbiNhVa(0, 1, 0x1000, true, ttl: 0, tg: 1, num: 3, scale: 0));
        yield return Case("S2_IPA SCALE without RIL", noRil, TlbiS2Ipa(0, 0x1000, true, ttl: 0, tg: 1, num: 0, scale: 2));
        yield return Case("NH_VA TG and TTL without RIL", noRil, TlbiNhVa(0, 1, 0x1000, true, ttl: 3, tg: 1, num: 0, scale: 0));
    }

    private static IEnumerable<TestCaseData> LegalCommands()
    {
        yield return Case("TLBI_EL2_ALL with HYP", Full with { Hyp = true }, TlbiEl2All());
        yield return Case("TLBI_EL2_VA with HYP", Full with { Hyp = true }, TlbiEl2Va(1, 0x1000, true, 0, 0, 0, 0));
        yield return Case("CFGI_VMS_PIDM with MPAM", Full with { Mpam = true }, CfgiVmsPidm(1));
        yield return Case("RESUME with STALL_MODEL 0", Full with { StallModel = 0 }, Resume(1, 0, ac: false, ab: true));
        yield return Case("STALL_TERM with STALL_MODEL 2", Full with { StallModel = 2 }, StallTerm(1));
        yield return Case("PRI_RESP with PRI", Full with { Pri = true }, PriResp(1, 0, false, 0, SmmuCommand.RESP_SUCCESS));
        yield return Case("ATC_INV Size 52", Full, AtcInv(1, 0, false, false, 0, 52));
        yield return Case("CFGI_ALL", Full, CfgiAll());
        yield return Case("CFGI_CD with stage 1", Full, CfgiCd(1, 0, leaf: true));
        yield return Case("PREFETCH_ADDR", Full, PrefetchAddr(1, 0, false, 0x1000, 3));
        yield return Case("TLBI_NSNH_ALL on a stage-2-only SMMU", Full with { Stage1 = false }, TlbiNsnhAll());
        yield return Case("TLBI_NSNH_ALL on a stage-1-only SMMU", Full with { Stage2 = false }, TlbiNsnhAll());
        yield return Case("NH_VA TG 0", Full, TlbiNhVa(0, 1, 0x1000, true, 0, 0, 0, 0));
        yield return Case("NH_VA TG 4K with only TTL", Full, TlbiNhVa(0, 1, 0x1000, true, ttl: 3, tg: 1, num: 0, scale: 0));
        yield return Case("NH_VA TG 4K with NUM", Full, TlbiNhVa(0, 1, 0x1000, true, ttl: 0, tg: 1, num: 1, scale: 0));
        yield return Case("NH_VA TG 16K TTL 1 with DS", Full with { Ds = true }, TlbiNhVa(0, 1, 0x4000, true, ttl: 1, tg: 2, num: 0, scale: 0));
        yield return Case("NH_VA SCALE 32 with DS", Full with { Ds = true }, TlbiNhVa(0, 1, 0x1000, true, ttl: 0, tg: 1, num: 0, scale: 32));
        yield return Case("S2_IPA TG 0 without RIL", Full with { RangeInvalidation = false }, TlbiS2Ipa(0, 0x1000, true, 0, 0, 0, 0));
        yield return Case("CMD_SYNC SIG_SEV", Full, CmdSync(SmmuCommand.CS_SIG_SEV));
    }

    private static TestCaseData Case(string name, SmmuV3Features features, SmmuCommand command) =>
        new TestCaseData(features, command).SetArgDisplayNames(name);
}
