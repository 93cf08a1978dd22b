using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core.Memory;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// An exception while a VCMDQ is consumed (a bug of whatever executes its commands) is contained: that queue
/// alone stops, the fault is reported once, the engine thread goes on with the other queues, and disabling and
/// enabling the queue starts it afresh. A queue error raised while software toggled GERRORN during consumption stays
/// active, so the queue never stops without an error to acknowledge.
/// </summary>
[TestFixture]
public class VcmdqFaultContainmentTests
{
    private const int Log2Entries = 4;

    [TestCase(ExecutionMode.Inline)]
    [TestCase(ExecutionMode.Threaded)]
    public void A_throwing_command_breaks_only_its_queue_and_a_reset_repairs_it(ExecutionMode mode)
    {
        var memory = new PhysicalMemory();
        var target = new ThrowingTarget();
        using var cmdqv = new Tegra241Cmdqv("t", new CmdqvFeatures(), target, memory, Log2Entries, mode);
        var faults = new List<(Vcmdq, Exception)>();
        cmdqv.QueueFaulted += (q, e) =>
        {
            lock (faults)
            {
                faults.Add((q, e));
            }
        };
        cmdqv.WriteRegister(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
        cmdqv.WriteRegister(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN | CmdqvRegister.VINTF_CONFIG_HYP_OWN);
        var bad = SetUpQueue(cmdqv, memory, 0);
        var good = SetUpQueue(cmdqv, memory, 1);

        Submit(cmdqv, bad, 0, SmmuCommandBuilder.TlbiNsnhAll(), ThrowingTarget.Poison, SmmuCommandBuilder.TlbiNsnhAll());
        Submit(cmdqv, good, 1, SmmuCommandBuilder.TlbiNsnhAll(), SmmuCommandBuilder.TlbiNsnhAll());
        bool goodDrained = Poll.Until(() => cmdqv.Queues[1].Queue.IsEmpty);
        // The queue is marked broken before its fault is reported (QueueEngine.Work.RunSlice): wait for the report.
        bool faulted = Poll.Until(() =>
        {
            lock (faults)
            {
                return faults.Count > 0;
            }
        }) && cmdqv.Queues[0].Broken;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(goodDrained, Is.True, "the other queue is served");
            Assert.That(faulted, Is.True);
            Assert.That(cmdqv.Faults, Is.EqualTo(1));
            Assert.That(faults, Has.Count.EqualTo(1));
            Assert.That(faults[0].Item1, Is.SameAs(cmdqv.Queues[0]));
            Assert.That(cmdqv.Queues[0].Queue.Cons & 0x1F, Is.EqualTo(1u), "stopped on the entry it could not run");
        }

        // Software fixes the entry and resets the queue: it runs again from CONS.
        cmdqv.Queues[0].Queue.TryWriteEntry(1, SmmuCommandBuilder.TlbiNsnhAll());
        WriteQueue(cmdqv, 0, CmdqvRegister.VCMDQ_CONFIG, 0);
        WriteQueue(cmdqv, 0, CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
        bool repaired = Poll.Until(() => cmdqv.Queues[0].Queue.IsEmpty);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(repaired, Is.True);
            Assert.That(cmdqv.Queues[0].Broken, Is.False);
            Assert.That(target.Executed, Is.EqualTo(5));
        }
    }

    [Test]
    public void An_error_raised_after_software_toggled_GERRORN_mid_slice_stays_active_and_the_queue_resumes_once_acknowledged()
    {
        var memory = new PhysicalMemory();
        var target = new GerrornToggler();
        using var cmdqv = new Tegra241Cmdqv("t", new CmdqvFeatures(), target, memory, Log2Entries, ExecutionMode.Inline);
        target.Cmdqv = cmdqv;
        cmdqv.WriteRegister(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
        cmdqv.WriteRegister(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN); // guest-owned
        var bank = SetUpQueue(cmdqv, memory, 0);

        // The first entry runs and, as a second vCPU would, toggles GERRORN; the second is refused (CERROR_ILL).
        Submit(cmdqv, bank, 0, GerrornToggler.Marker, SmmuCommandBuilder.TlbiS12Vmall(1), SmmuCommandBuilder.TlbiNhAsid(0, 1));
        var queue = cmdqv.Queues[0];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(queue.Queue.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(queue.Queue.Cons & 0x1F, Is.EqualTo(1u), "stopped on the refused entry");
            Assert.That(queue.ErrorActive, Is.True, "the error is active, so the guest sees it and acknowledges");
            Assert.That(cmdqv.Vintfs[0].ErrorMap, Is.EqualTo(UInt128.One), "and its VINTF's LVCMDQ_ERR_MAP shows it");
        }

        SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE).Write(bank.Span.Slice(16, 16));
        WriteQueue(cmdqv, 0, CmdqvRegister.VCMDQ_GERRORN, queue.Gerror);
        Assert.That((queue.Queue.IsEmpty, queue.ErrorActive, cmdqv.Vintfs[0].ErrorMap), Is.EqualTo((true, false, UInt128.Zero)), "acknowledged: the rest runs");
    }

    private static PhysicalBank SetUpQueue(Tegra241Cmdqv cmdqv, PhysicalMemory memory, int q)
    {
        var bank = memory.Allocate(16 << Log2Entries);
        cmdqv.WriteRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)q * 4), CmdqvRegister.CMDQ_ALLOC_ALLOCATED | ((uint)q << CmdqvRegister.CMDQ_ALLOC_LVCMDQ_SHIFT));
        cmdqv.WriteRegister(CmdqvRegister.GlobalVcmdqPage1 + ((uint)q * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_BASE, bank.BaseAddress | Log2Entries, 8);
        WriteQueue(cmdqv, q, CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
        return bank;
    }

    private static void Submit(Tegra241Cmdqv cmdqv, PhysicalBank bank, int q, params SmmuCommand[] commands)
    {
        for (int i = 0; i < commands.Length; i++)
        {
            commands[i].Write(bank.Span.Slice(i * 16, 16));
        }

        WriteQueue(cmdqv, q, CmdqvRegister.VCMDQ_PROD, (uint)commands.Length);
    }

    private static void WriteQueue(Tegra241Cmdqv cmdqv, int q, uint register, uint value) =>
        cmdqv.WriteRegister(CmdqvRegister.GlobalVcmdqPage0 + ((uint)q * CmdqvRegister.VcmdqStride) + register, value);

    /// <summary>A command target that toggles queue 0's GERRORN on one entry, as another vCPU might while it runs.</summary>
    private sealed class GerrornToggler : ICommandExecutor
    {
        public static readonly SmmuCommand Marker = SmmuCommandBuilder.TlbiNhAsid(0, 0xABC);

        public Tegra241Cmdqv? Cmdqv { get; set; }

        public CommandError Execute(in SmmuCommand command, CommandQueue queue)
        {
            if (command.Opcode == SmmuOpcode.TLBI_NH_ASID && command.Asid == 0xABC)
            {
                WriteQueue(Cmdqv!, 0, CmdqvRegister.VCMDQ_GERRORN, Cmdqv!.Queues[0].Gerrorn ^ 1);
            }

            return CommandError.CERROR_NONE;
        }
    }

    /// <summary>A command target with a bug: it throws on one particular entry.</summary>
    private sealed class ThrowingTarget : ICommandExecutor
    {
        public static readonly SmmuCommand Poison = SmmuCommandBuilder.TlbiS12Vmall(0xBAD);

        private int _executed;

        public int Executed => Volatile.Read(ref _executed);

        public CommandError Execute(in SmmuCommand command, CommandQueue queue)
        {
            if (command.Word0 == Poison.Word0)
            {
                throw new InvalidOperationException("executor bug");
            }

            Interlocked.Increment(ref _executed);
            return CommandError.CERROR_NONE;
        }
    }
}
