using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// The next owner of the host queue rings PROD once the previous owner's PROD store shows in the register, while the
/// previous owner's doorbell still consumes inline: that running slice goes on into the new batch, the second issuer
/// waits only for its own CMD_SYNC, and an error in its batch is reported to it alone.
/// </summary>
[TestFixture]
public class HostQueueSharedConsumptionTests
{
    private const int Log2Entries = 6;

    [Test]
    public void A_second_owner_rings_during_the_first_owners_inline_slice_which_consumes_its_batch_and_only_it_gets_its_error()
    {
        var memory = new PhysicalMemory();
        var bank = memory.Allocate(16 << Log2Entries);
        var hardware = new CommandQueue(memory, Log2Entries, "test.cmdq") { Base = bank.BaseAddress | Log2Entries };
        var executor = new Recorder(hardware);
        var work = new QueueEngine.Work("test.cmdq", () =>
        {
            if (Volatile.Read(ref executor.ErrorActive) != 0)
            {
                return false;
            }

            var self = executor;
            var error = hardware.Consume(ref self, QueueEngine.SliceEntries, out bool more);
            if (error != CommandError.CERROR_NONE)
            {
                Volatile.Write(ref executor.ErrorActive, 1);
            }

            return more;
        });
        var queue = new HostCommandQueue(
            hardware,
            prod =>
            {
                hardware.Prod = prod;
                work.RunInline();
            },
            () => Volatile.Read(ref executor.ErrorActive) != 0,
            () =>
            {
                Volatile.Write(ref executor.ErrorActive, 0);
                work.RunInline();
            },
            TimeSpan.FromSeconds(30),
            NullLogger.Instance);

        Errno first = Errno.EINVAL, second = Errno.EINVAL;
        int secondFailed = -2;
        var a = new Thread(() => first = queue.Issue([SmmuCommandBuilder.PrefetchConfig(Recorder.Gate)], out _));
        a.Start();
        Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref executor.GateReached) != 0, TimeSpan.FromSeconds(30)), Is.True, "the first batch's slice runs");

        // The first owner's slice is stopped in its first command; the second batch (the poison in the middle) is rung now.
        var b = new Thread(() => second = queue.Issue([SmmuCommandBuilder.PrefetchConfig(1), Recorder.Poison, SmmuCommandBuilder.PrefetchConfig(2)], out secondFailed));
        b.Start();
        Assert.That(b.Join(TimeSpan.FromSeconds(60)), Is.True, "the second issuer returns");
        Assert.That(a.Join(TimeSpan.FromSeconds(60)), Is.True, "the first issuer returns");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(executor.GateSawSecondProd, Is.True, "the second owner stored PROD while the first owner's doorbell was still consuming");
            Assert.That(first, Is.EqualTo(Errno.Success), "the first batch does not get the second's error");
            Assert.That(second, Is.EqualTo(Errno.EIO));
            Assert.That(secondFailed, Is.EqualTo(1), "the poison's index in the second batch");
            Assert.That(executor.Ran, Is.EqualTo(new uint[] { Recorder.Gate, 1, 2 }), "each command once, in order");
            // Up to the error the first owner's slice consumed the second batch; after it, whichever thread handled the
            // error and acknowledged it runs the rest.
            Assert.That(executor.RanOnGateThread.Take(2), Is.EqualTo(new[] { true, true }), "the first owner's slice consumed the second batch, the second issuer did not run it");
        }
    }

    /// <summary>Records what runs and on which thread; the gate command waits (bounded) until PROD moves past it.</summary>
    private sealed class Recorder(CommandQueue queue) : ICommandExecutor
    {
        public const uint Gate = 0xFFFF;
        public static readonly SmmuCommand Poison = SmmuCommandBuilder.TlbiEl3All();

        public int ErrorActive;
        public int GateReached;
        public bool GateSawSecondProd;
        private int _gateThread;

        public List<uint> Ran { get; } = [];

        public List<bool> RanOnGateThread { get; } = [];

        public CommandError Execute(in SmmuCommand command, CommandQueue q)
        {
            switch (command.Opcode)
            {
                case SmmuOpcode.PREFETCH_CONFIG:
                    if (command.StreamId == Gate)
                    {
                        _gateThread = Environment.CurrentManagedThreadId;
                        uint gateEnd = queue.Advance(queue.Cons & queue.IndexWrapMask, 2); // the gate and its sync
                        Volatile.Write(ref GateReached, 1);
                        GateSawSecondProd = SpinWait.SpinUntil(() => (queue.Prod & queue.IndexWrapMask) != gateEnd, TimeSpan.FromSeconds(10));
                    }

                    Ran.Add(command.StreamId);
                    RanOnGateThread.Add(Environment.CurrentManagedThreadId == _gateThread);
                    return CommandError.CERROR_NONE;
                case SmmuOpcode.CMD_SYNC:
                    return CommandError.CERROR_NONE;
                default:
                    return CommandError.CERROR_ILL;
            }
        }
    }
}
