using Iommufd.ArmSmmuV3.Hardware;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// Queue mechanics of the command queue (Arm IHI 0070 §3.5.1, §6.3.26–28): index and wrap bits over
/// several laps, a full queue, LOG2SIZE capped at IDR1.CMDQS, and the WFE wake-up when a full queue drains.
/// </summary>
[TestFixture]
public class CommandQueueMechanicsTests
{
    [Test]
    public void PROD_and_CONS_carry_the_wrap_bit_over_several_laps_of_a_four_entry_queue()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 2);
        var consAfterEachBatch = new List<uint>();
        int slot = 0;

        for (int batch = 0; batch < 6; batch++)
        {
            bench.Submit(bench.SyncWithMsi(slot, (uint)slot + 100), bench.SyncWithMsi(slot + 1, (uint)slot + 101), bench.SyncWithMsi(slot + 2, (uint)slot + 102));
            slot += 3;
            consAfterEachBatch.Add(bench.CmdqCons);
        }

        using (Assert.EnterMultipleScope())
        {
            // 3 entries per batch in a 4-entry queue: RD = total mod 8, bit 2 is the wrap bit.
            Assert.That(consAfterEachBatch, Is.EqualTo(new uint[] { 0b011, 0b110, 0b001, 0b100, 0b111, 0b010 }));
            Assert.That(bench.CmdqProd, Is.EqualTo(0b010));
            Assert.That(Enumerable.Range(0, 18).Select(bench.ReadMsi), Is.EqualTo(Enumerable.Range(100, 18).Select(i => (uint)i)),
                "every entry ran exactly once, from the right slot");
        }
    }

    [Test]
    public void Entries_written_as_one_run_wrap_past_the_end_of_the_queue_into_the_first_slots()
    {
        var memory = new Iommufd.Core.Memory.PhysicalMemory();
        var bank = memory.Allocate(16 << 3);
        var queue = new CommandQueue(memory, 3, "test.cmdq") { Base = bank.BaseAddress | 3 };
        var commands = Enumerable.Range(0, 5).Select(i => TlbiNhVa(1, (ushort)i, 0x1000UL * (ulong)(i + 1), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0)).ToArray();

        bool written = queue.TryWriteEntries(6, commands);

        var read = Enumerable.Range(6, 5).Select(p => queue.TryReadEntry((uint)p, out var c) ? c : default).ToArray();
        queue.TryReadEntry(3, out var untouched);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.True);
            Assert.That(read, Is.EqualTo(commands), "slots 6 and 7, then 0 to 2 of the next lap");
            Assert.That(untouched, Is.EqualTo(default(SmmuCommand)), "nothing written past the run");
        }
    }

    [Test]
    public void A_full_queue_uses_all_four_slots()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 2);

        bench.Submit(bench.SyncWithMsi(0, 1), bench.SyncWithMsi(1, 2), bench.SyncWithMsi(2, 3), bench.SyncWithMsi(3, 4));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqProd, Is.EqualTo(0b100), "index 0 with the wrap bit set: full");
            Assert.That(bench.CmdqCons, Is.EqualTo(0b100));
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(4));
            Assert.That(new[] { bench.ReadMsi(0), bench.ReadMsi(1), bench.ReadMsi(2), bench.ReadMsi(3) }, Is.EqualTo(new uint[] { 1, 2, 3, 4 }));
        }
    }

    [Test]
    public void A_full_queue_written_while_CMDQEN_is_off_is_drained_when_the_queue_is_enabled()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 2);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn);
        for (uint i = 0; i < 4; i++)
        {
            bench.WriteCommand(i, bench.SyncWithMsi((int)i, i + 1));
        }

        bench.Write(SmmuRegister.CMDQ_PROD, 0b100);
        uint consWhileDisabled = bench.CmdqCons;
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0CmdqEn);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(consWhileDisabled, Is.Zero);
            Assert.That(bench.CmdqCons, Is.EqualTo(0b100));
            Assert.That(bench.ReadMsi(3), Is.EqualTo(4));
        }
    }

    [Test]
    public void LOG2SIZE_above_IDR1_CMDQS_reads_back_as_written_but_the_queue_wraps_at_CMDQS()
    {
        var features = new SmmuV3Features { CmdqLog2Size = 7 };
        using var bench = new SmmuTestBench(features, cmdqLog2: 7); // 128 entries: 2 KiB in a 4 KiB page
        ulong baseValue = bench.CommandQueueBank.BaseAddress | 10;
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn);
        bench.Write(SmmuRegister.CMDQ_BASE, baseValue, 8);
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0SmmuEn | SmmuTestBench.Cr0CmdqEn);

        var commands = Enumerable.Range(0, 128).Select(_ => CmdSync(SmmuCommand.CS_SIG_NONE)).ToArray();
        bench.Submit(commands); // PROD = 0x80: index 0 with the wrap bit of a 128-entry queue
        uint consAfterFirstLap = bench.CmdqCons;
        bench.Submit(bench.SyncWithMsi(0, 0xAB)); // slot 0 again; with LOG2SIZE 10 it would be slot 128 (zeroes: illegal)

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Read(SmmuRegister.CMDQ_BASE, 8), Is.EqualTo(baseValue));
            Assert.That((bench.Read(SmmuRegister.IDR1) >> 21) & 0x1F, Is.EqualTo(7));
            Assert.That(consAfterFirstLap, Is.EqualTo(0x80));
            Assert.That(bench.CmdqCons, Is.EqualTo(0x81));
            Assert.That(bench.Gerror, Is.Zero);
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(129));
            Assert.That(bench.ReadMsi(0), Is.EqualTo(0xAB));
        }
    }

    [Test]
    public void CONS_is_writable_while_CMDQEN_is_off_and_read_only_while_it_is_on()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 3, enable: false);
        bench.Write(SmmuRegister.CMDQ_BASE, bench.CommandQueueBank.BaseAddress | 3, 8);

        bench.Write(SmmuRegister.CMDQ_PROD, 5);
        bench.Write(SmmuRegister.CMDQ_CONS, 5);
        uint whileOff = bench.CmdqCons;
        bench.Write(SmmuRegister.CR0, SmmuTestBench.Cr0CmdqEn);
        bench.Write(SmmuRegister.CMDQ_CONS, 2);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(whileOff, Is.EqualTo(5));
            Assert.That(bench.CmdqCons, Is.EqualTo(5));
        }
    }

    [Test]
    public void With_IDR0_SEV_a_full_queue_that_drains_sends_one_wake_up_event()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 2);

        bench.Submit(CmdSync(0), CmdSync(0), CmdSync(0)); // not full
        long afterPartial = bench.Smmu.SevSent;
        bench.Submit(CmdSync(0), CmdSync(0), CmdSync(0), CmdSync(0)); // full

        using (Assert.EnterMultipleScope())
        {
            Assert.That(afterPartial, Is.Zero);
            Assert.That(bench.Smmu.SevSent, Is.EqualTo(1));
        }
    }

    [Test]
    public void Without_IDR0_SEV_a_full_queue_that_drains_sends_no_wake_up_event()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { Sev = false }, cmdqLog2: 2);

        bench.Submit(CmdSync(0), CmdSync(0), CmdSync(0), CmdSync(0));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.CmdqCons, Is.EqualTo(0b100));
            Assert.That(bench.Smmu.SevSent, Is.Zero);
        }
    }
}
