using System.Buffers.Binary;
using Iommufd.ArmSmmuV3.Hardware;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>CMD_SYNC completion signals (Arm IHI 0070 §4.7.3): SIG_NONE, SIG_IRQ with and without MSIs,
/// SIG_SEV.</summary>
[TestFixture]
public class CmdSyncTests
{
    [Test]
    public void SIG_NONE_ignores_the_MSI_fields_and_signals_nothing()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_NONE, bench.MsiBank.BaseAddress, 0x1234_5678));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.ReadMsi(0), Is.Zero);
            Assert.That(bench.Interrupts, Is.Empty);
            Assert.That(bench.Smmu.SevSent, Is.Zero);
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(1));
            Assert.That(bench.CmdqCons, Is.EqualTo(1));
        }
    }

    [Test]
    public void SIG_IRQ_with_MSIs_writes_MSIData_little_endian_at_MSIAddr_and_nothing_around_it()
    {
        using var bench = new SmmuTestBench();
        bench.MsiBank.Span[..16].Fill(0xEE);

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, bench.MsiBank.BaseAddress + 4, 0xC0FF_EE11, SmmuCommand.MSH_ISH, SmmuCommand.MSIATTR_OIWB));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.MsiBank.Span[..12].ToArray(), Is.EqualTo(new byte[] { 0xEE, 0xEE, 0xEE, 0xEE, 0x11, 0xEE, 0xFF, 0xC0, 0xEE, 0xEE, 0xEE, 0xEE }));
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(1));
            Assert.That(bench.Interrupts, Is.EqualTo(new[] { SmmuInterrupt.CmdSync }), "the wired output pulses regardless of MSIAddress");
        }
    }

    [Test]
    public void SIG_IRQ_with_MSIAddr_zero_writes_nothing_and_pulses_the_wired_interrupt()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, 0, 0xFFFF_FFFF));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Interrupts, Is.EqualTo(new[] { SmmuInterrupt.CmdSync }));
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(1));
        }
    }

    [Test]
    public void SIG_IRQ_without_the_MSI_feature_ignores_MSIAddr_and_raises_the_CmdSync_interrupt()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { Msi = false });

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, bench.MsiBank.BaseAddress, 0x55));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.ReadMsi(0), Is.Zero);
            Assert.That(bench.Interrupts, Is.EqualTo(new[] { SmmuInterrupt.CmdSync }));
            Assert.That(bench.Read(SmmuRegister.IDR0) & (1u << 13), Is.Zero, "IDR0.MSI");
        }
    }

    [Test]
    public void SIG_SEV_sends_a_wake_up_event_when_IDR0_SEV_is_set()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_SEV), CmdSync(SmmuCommand.CS_SIG_SEV));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Smmu.SevSent, Is.EqualTo(2));
            Assert.That(bench.Interrupts, Is.Empty);
            Assert.That(bench.Read(SmmuRegister.IDR0) & (1u << 14), Is.EqualTo(1u << 14), "IDR0.SEV");
        }
    }

    [Test]
    public void SIG_SEV_without_IDR0_SEV_behaves_like_SIG_NONE()
    {
        using var bench = new SmmuTestBench(new SmmuV3Features { Sev = false });

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_SEV));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Smmu.SevSent, Is.Zero);
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(1));
            Assert.That(bench.CmdqCons, Is.EqualTo(1));
        }
    }

    [Test]
    public void Linux_style_MSI_polling_on_the_CMD_SYNCs_own_slot_clears_its_first_word()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(CmdSync(0), CmdSync(0)); // the polled CMD_SYNC lands in slot 2
        ulong slotAddress = bench.CommandQueueBank.BaseAddress + (2 * 16);

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, slotAddress, 0, SmmuCommand.MSH_ISH, SmmuCommand.MSIATTR_OIWB));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bench.CommandQueueBank.Span[32..]), Is.Zero);
            Assert.That(bench.CmdqCons, Is.EqualTo(3));
        }
    }

    [Test]
    public void An_MSI_to_unbacked_memory_raises_MSI_CMDQ_ABT_ERR_and_the_CMD_SYNC_is_still_consumed()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, SmmuTestBench.UnbackedAddress, 1), CmdSync(0));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Gerror, Is.EqualTo(1u << 4), "GERROR.MSI_CMDQ_ABT_ERR");
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.CMDQ_ERR), Is.False);
            Assert.That(bench.CmdqCons, Is.EqualTo(2));
        }
    }

    [Test]
    public void A_second_MSI_abort_while_the_first_is_unacknowledged_does_not_toggle_GERROR_again()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, SmmuTestBench.UnbackedAddress, 1), CmdSync(SmmuCommand.CS_SIG_IRQ, SmmuTestBench.UnbackedAddress, 2));
        uint afterTwo = bench.Gerror;
        bench.AcknowledgeErrors();
        bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ, SmmuTestBench.UnbackedAddress, 3));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(afterTwo, Is.EqualTo(1u << 4));
            Assert.That(bench.Gerror, Is.Zero, "toggled again once the first abort was acknowledged");
            Assert.That(bench.Gerrorn, Is.EqualTo(1u << 4));
            Assert.That(bench.Smmu.IsErrorActive(GlobalError.MSI_CMDQ_ABT_ERR), Is.True);
        }
    }

    [Test]
    public void SyncsCompleted_counts_only_CMD_SYNCs()
    {
        using var bench = new SmmuTestBench();

        bench.Submit(TlbiNsnhAll(), CmdSync(0), CfgiAll(), PrefetchConfig(3), CmdSync(SmmuCommand.CS_SIG_SEV), TlbiNhAll(0), CmdSync(0));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(3));
            Assert.That(bench.Smmu.CommandQueue.Consumed, Is.EqualTo(7));
        }
    }

    /// <summary>
    /// Spec §3.21 / §4.7.3: once a CMD_SYNC completes, no transaction still uses what the invalidations before it
    /// removed. A transaction in flight when a TLBI runs may have translated through an entry the TLBI names, so the
    /// sync waits for it even when the TLB held nothing.
    /// </summary>
    [Test]
    public void A_CMD_SYNC_waits_for_a_transaction_in_flight_at_its_TLBI_though_nothing_was_cached()
    {
        using var bench = new SmmuTestBench();
        int slot = bench.Smmu.Transactions.Enter();
        var issuer = new Thread(() => bench.Submit(TlbiNhVa(0, 1, 0x1000, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0), CmdSync(SmmuCommand.CS_SIG_NONE)));
        issuer.Start();

        bool finishedEarly = issuer.Join(TimeSpan.FromMilliseconds(200));
        uint consWhileOpen = bench.CmdqCons;
        bench.Smmu.Transactions.Leave(slot);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(finishedEarly, Is.False, "the sync completed while the transaction was open");
            Assert.That(consWhileOpen, Is.LessThan(2u), "CONS passed the sync while the transaction was open");
            Assert.That(issuer.Join(TimeSpan.FromSeconds(10)), Is.True);
            Assert.That(bench.CmdqCons, Is.EqualTo(2u));
        }
    }

    /// <summary>A command other than an idle TLBI since the last sync (here CFGI_STE) makes the next CMD_SYNC wait too.</summary>
    [Test]
    public void A_CMD_SYNC_after_an_idle_TLBI_and_a_CFGI_STE_waits_for_a_transaction_that_entered_between_them()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(TlbiNhVa(0, 1, 0x1000, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0));
        int slot = bench.Smmu.Transactions.Enter();
        var issuer = new Thread(() => bench.Submit(CfgiSte(3, leaf: true), CmdSync(SmmuCommand.CS_SIG_NONE)));
        issuer.Start();

        bool finishedEarly = issuer.Join(TimeSpan.FromMilliseconds(200));
        bench.Smmu.Transactions.Leave(slot);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(finishedEarly, Is.False, "the sync completed while the transaction was open");
            Assert.That(issuer.Join(TimeSpan.FromSeconds(10)), Is.True);
            Assert.That(bench.CmdqCons, Is.EqualTo(3u));
        }
    }

    /// <summary>
    /// A TLBI that found the TLB empty with no transaction in flight leaves the next CMD_SYNC nothing to wait for: a
    /// transaction that entered after it walked the tables as they were after the writes the TLBI followed.
    /// </summary>
    [Test]
    public void A_CMD_SYNC_after_only_idle_TLBIs_does_not_wait_for_a_transaction_that_entered_after_them()
    {
        using var bench = new SmmuTestBench();
        bench.Submit(TlbiNhVa(0, 1, 0x1000, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0), TlbiNhAsid(0, 1));
        int slot = bench.Smmu.Transactions.Enter();
        var issuer = new Thread(() => bench.Submit(CmdSync(SmmuCommand.CS_SIG_NONE)));
        issuer.Start();

        bool finished = issuer.Join(TimeSpan.FromSeconds(10));
        bench.Smmu.Transactions.Leave(slot);
        issuer.Join();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(finished, Is.True, "the sync waited for a transaction no invalidation before it could concern");
            Assert.That(bench.CmdqCons, Is.EqualTo(3u));
        }
    }
}
