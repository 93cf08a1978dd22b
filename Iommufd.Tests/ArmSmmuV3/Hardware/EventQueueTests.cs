using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// The event queue (Arm IHI 0070 §7.3, §7.4): 32-byte records with the fields of each fault, PROD advancing,
/// and overflow through EVENTQ_PROD.OVFLG and EVENTQ_CONS.OVACKFLG.
/// </summary>
[TestFixture]
public class EventQueueTests
{
    private const uint Sid = 4;

    [Test]
    public void A_stage_1_write_fault_writes_a_32_byte_F_TRANSLATION_record_and_advances_PROD()
    {
        using var bench = new SmmuTestBench();
        EmptyStage1(bench, record: true);

        var status = bench.DmaWrite(Sid, 0x7000_1234, 0xFF, 4);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(bench.EventqProd, Is.EqualTo(1));
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_0004_0000_0010UL), "type 0x10, SSV 0, SID 4");
            Assert.That(bench.EventWord(0, 1), Is.EqualTo(0x0000_0200_0000_0000UL), "CLASS = IN, S2 = 0, RnW = 0 (write)");
            Assert.That(bench.EventWord(0, 2), Is.EqualTo(0x7000_1234UL), "input address, low bits included");
            Assert.That(bench.EventWord(0, 3), Is.Zero);
            Assert.That(bench.EventWord(1, 0), Is.Zero, "nothing in the next slot");
        }
    }

    [Test]
    public void A_read_fault_sets_RnW()
    {
        using var bench = new SmmuTestBench();
        EmptyStage1(bench, record: true);

        bench.DmaRead(Sid, 0x7000_0000, out _);

        Assert.That(bench.EventWord(0, 1), Is.EqualTo(0x0000_0208_0000_0000UL), "CLASS = IN, RnW (bit 35) = 1");
    }

    [Test]
    public void A_stage_2_fault_sets_S2_and_reports_the_IPA()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 3, s2.Root));

        var status = bench.DmaRead(Sid, 0x32_3456_7A80, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_0004_0000_0010UL));
            Assert.That(bench.EventWord(0, 1), Is.EqualTo(0x0000_0288_0000_0000UL), "CLASS = IN, S2 (bit 39), RnW");
            Assert.That(bench.EventWord(0, 2), Is.EqualTo(0x32_3456_7A80UL));
            Assert.That(bench.EventWord(0, 3), Is.EqualTo(0x32_3456_7000UL), "IPA [51:12]");
        }
    }

    [Test]
    public void A_stage_2_fault_with_S2R_clear_is_not_recorded()
    {
        using var bench = new SmmuTestBench();
        var s2 = bench.NewStage2Table();
        bench.WriteSte(Sid, SmmuTestBench.Stage2Ste(vmid: 3, s2.Root, record: false));

        var status = bench.DmaRead(Sid, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(bench.EventqProd, Is.Zero);
        }
    }

    [Test]
    public void A_write_to_a_read_only_stage_1_page_records_F_PERMISSION()
    {
        using var bench = new SmmuTestBench();
        var table = EmptyStage1(bench, record: true);
        table.Map(0x9000, bench.DataPage(0).BaseAddress, 4096, IommuProtection.Read);

        var status = bench.DmaWrite(Sid, 0x9008, 1, 4);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.PermissionFault));
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_0004_0000_0013UL));
            Assert.That(bench.EventWord(0, 2), Is.EqualTo(0x9008UL));
        }
    }

    [Test]
    public void A_faults_interrupt_comes_after_its_transaction_so_a_CMD_SYNC_completes_while_the_handler_runs_and_finds_the_record()
    {
        // The faulting transaction is terminated without waiting for software (spec §3.12), and a CMD_SYNC makes the
        // events of transactions terminated before it visible (spec §4.7.3). The handler waits at most one bounded
        // wait, so a sync that waited for it would complete only after the handler returned.
        using var bench = new SmmuTestBench(enable: false);
        bench.Enable(SmmuTestBench.IrqCtrlEventqIrqEn);
        EmptyStage1(bench, record: true);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int handlerReturned = 0;
        bench.Smmu.Interrupt += i =>
        {
            if (i == SmmuInterrupt.EventQueue)
            {
                entered.Set();
                release.Wait(Poll.Patience);
                Volatile.Write(ref handlerReturned, 1);
            }
        };

        var fault = Task.Run(() => bench.DmaRead(Sid, 0x7000_0000, out _));
        bool handling = entered.Wait(Poll.Patience);
        bench.Submit(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE)); // inline: executed on this thread
        bool syncedWhileHandling = Volatile.Read(ref handlerReturned) == 0;
        uint cons = bench.CmdqConsRd;
        uint prod = bench.EventqProd;
        release.Set();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(handling, Is.True, "the fault raised the event-queue interrupt");
            Assert.That(cons, Is.EqualTo(1), "the CMD_SYNC was consumed");
            Assert.That(syncedWhileHandling, Is.True, "the CMD_SYNC completed while the handler still ran");
            Assert.That(prod, Is.EqualTo(1), "the record was in the queue when the CMD_SYNC completed");
            Assert.That(fault.Wait(Poll.Patience) && fault.Result == DmaStatus.TranslationFault, Is.True);
        }
    }

    [Test]
    public void An_invalid_STE_records_C_BAD_STE_and_a_StreamID_beyond_the_table_records_C_BAD_STREAMID()
    {
        using var bench = new SmmuTestBench();

        var badSte = bench.DmaRead(9, 0x1000, out _);
        var badSid = bench.DmaRead(1u << SmmuTestBench.StreamTableLog2, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(badSte, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(badSid, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.EventqProd, Is.EqualTo(2));
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_0009_0000_0004UL));
            Assert.That(bench.EventWord(1, 0), Is.EqualTo(0x0000_0040_0000_0002UL));
        }
    }

    [Test]
    public void An_invalid_CD_records_C_BAD_CD()
    {
        using var bench = new SmmuTestBench();
        var cd = SmmuTestBench.Cd(1, 0);
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(cd with { Word0 = cd.Word0 & ~(1UL << 31) })));

        var status = bench.DmaRead(Sid, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_0004_0000_000AUL));
        }
    }

    [Test]
    public void A_stage_1_table_in_unbacked_memory_records_F_WALK_EABT_even_with_CD_R_clear()
    {
        using var bench = new SmmuTestBench();
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(1, SmmuTestBench.UnbackedAddress, record: false))));

        var status = bench.DmaRead(Sid, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(bench.EventqProd, Is.EqualTo(1));
            Assert.That(bench.EventWord(0, 0) & 0xFF, Is.EqualTo(0x0B));
        }
    }

    [Test]
    public void With_EVENTQEN_off_events_are_dropped_and_PROD_stays()
    {
        using var bench = new SmmuTestBench();
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0CmdqEn);

        bench.DmaRead(9, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.EventqProd, Is.Zero);
            Assert.That(bench.EventWord(0, 0), Is.Zero);
            Assert.That(bench.Smmu.EventsDropped, Is.EqualTo(1));
        }
    }

    [Test]
    public void Each_record_raises_the_event_queue_interrupt_when_IRQ_CTRL_enables_it()
    {
        using var bench = new SmmuTestBench(enable: false);
        bench.Enable(irqCtrl: SmmuTestBench.IrqCtrlEventqIrqEn);

        bench.DmaRead(9, 0x1000, out _);
        bench.DmaRead(10, 0x1000, out _);

        Assert.That(bench.Interrupts, Is.EqualTo(new[] { SmmuInterrupt.EventQueue, SmmuInterrupt.EventQueue }));
    }

    [Test]
    public void A_full_queue_drops_events_and_toggles_OVFLG_once_until_software_acknowledges_it()
    {
        using var bench = new SmmuTestBench(eventqLog2: 1); // two records
        var prods = new List<uint>();
        for (uint sid = 10; sid <= 13; sid++)
        {
            bench.DmaRead(sid, 0x1000, out _); // C_BAD_STE from StreamIDs 10..13
            prods.Add(bench.EventqProd);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(prods, Is.EqualTo(new uint[] { 0b01, 0b10, 0x8000_0002, 0x8000_0002 }));
            Assert.That(bench.EventWord(0, 0) >> 32, Is.EqualTo(10));
            Assert.That(bench.EventWord(1, 0) >> 32, Is.EqualTo(11));
            Assert.That(bench.Smmu.EventsDropped, Is.EqualTo(2));
        }

        // Acknowledge without consuming: CONS.OVACKFLG = PROD.OVFLG. The queue is still full, so the next event
        // overflows again and toggles OVFLG back.
        bench.Write(SmmuRegister.EVENTQ_CONS, 0x8000_0000);
        bench.DmaRead(14, 0x1000, out _);
        uint afterSecondOverflow = bench.EventqProd;
        bench.DmaRead(14, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(afterSecondOverflow, Is.EqualTo(0x0000_0002));
            Assert.That(bench.EventqProd, Is.EqualTo(0x0000_0002), "unacknowledged again: no third toggle");
            Assert.That(bench.Smmu.EventsDropped, Is.EqualTo(4));
            Assert.That(bench.EventqCons, Is.EqualTo(0x8000_0000));
        }

        var drained = bench.DrainEvents();
        bench.DmaRead(15, 0x1000, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(drained.Select(e => e.StreamId), Is.EqualTo(new uint[] { 10, 11 }));
            Assert.That(bench.EventqCons, Is.EqualTo(0x0000_0002));
            Assert.That(bench.EventqProd, Is.EqualTo(0b11), "index 1, wrap 1: written into slot 0");
            Assert.That(bench.EventWord(0, 0), Is.EqualTo(0x0000_000F_0000_0004UL));
        }
    }

    [Test]
    public void PROD_wraps_with_the_consumer_keeping_up()
    {
        using var bench = new SmmuTestBench(eventqLog2: 1);
        var prods = new List<uint>();
        var sids = new List<uint>();
        for (uint sid = 20; sid < 25; sid++)
        {
            bench.DmaRead(sid, 0x1000, out _);
            prods.Add(bench.EventqProd);
            sids.AddRange(bench.DrainEvents().Select(e => e.StreamId));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(prods, Is.EqualTo(new uint[] { 1, 2, 3, 0, 1 }));
            Assert.That(sids, Is.EqualTo(new uint[] { 20, 21, 22, 23, 24 }));
            Assert.That(bench.Smmu.EventsDropped, Is.Zero);
        }
    }

    private static Iommufd.ArmSmmuV3.Driver.AArch64PageTable EmptyStage1(SmmuTestBench bench, bool record)
    {
        var table = bench.NewStage1Table();
        bench.WriteSte(Sid, SmmuTestBench.Stage1Ste(bench.WriteCd(SmmuTestBench.Cd(1, table.Root, record))));
        return table;
    }
}
