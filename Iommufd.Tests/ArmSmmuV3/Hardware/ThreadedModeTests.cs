using Iommufd.ArmSmmuV3.Hardware;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// <see cref="ExecutionMode.Threaded"/>: a PROD write to a free queue consumes one slice on the writer's thread (no
/// hand-off), the rest and a doorbell during someone else's slice go to the running consumer or the engine, and
/// <see cref="CommandQueue.WaitUntilConsumed"/> lets the producer wait for it.
/// </summary>
[TestFixture]
public class ThreadedModeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Test]
    public void A_PROD_write_to_a_free_queue_is_consumed_on_the_writing_thread_and_WaitUntilConsumed_returns()
    {
        using var bench = new SmmuTestBench(mode: ExecutionMode.Threaded);
        int syncThread = 0;
        bench.Smmu.Interrupt += i =>
        {
            if (i == SmmuInterrupt.CmdSync)
            {
                Volatile.Write(ref syncThread, Environment.CurrentManagedThreadId);
            }
        };

        uint prod = bench.Submit(TlbiNsnhAll(), bench.SyncWithMsi(0, 0x5EED), CmdSync(SmmuCommand.CS_SIG_IRQ));
        bool consumed = bench.Smmu.CommandQueue.WaitUntilConsumed(prod, Timeout, out var error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(consumed, Is.True);
            Assert.That(error, Is.EqualTo(CommandError.CERROR_NONE));
            Assert.That(bench.CmdqCons, Is.EqualTo(3));
            Assert.That(bench.ReadMsi(0), Is.EqualTo(0x5EED));
            Assert.That(bench.Smmu.SyncsCompleted, Is.EqualTo(2));
            Assert.That(Volatile.Read(ref syncThread), Is.EqualTo(Environment.CurrentManagedThreadId), "no hand-off");
        }
    }

    [Test]
    public void A_writer_consumes_one_slice_and_an_engine_thread_the_rest()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 8, mode: ExecutionMode.Threaded);
        var threads = new List<int>();
        bench.Smmu.Interrupt += i =>
        {
            if (i == SmmuInterrupt.CmdSync)
            {
                lock (threads)
                {
                    threads.Add(Environment.CurrentManagedThreadId);
                }
            }
        };

        var syncs = Enumerable.Repeat(CmdSync(SmmuCommand.CS_SIG_IRQ), QueueEngine.SliceEntries + 10).ToArray();
        uint prod = bench.Submit(syncs);
        bool consumed = bench.Smmu.CommandQueue.WaitUntilConsumed(prod, Timeout, out _);

        int me = Environment.CurrentManagedThreadId;
        lock (threads)
        {
            using (Assert.EnterMultipleScope())
            {
                Assert.That(consumed, Is.True);
                Assert.That(threads, Has.Count.EqualTo(syncs.Length));
                Assert.That(threads.Take(QueueEngine.SliceEntries), Is.All.EqualTo(me), "the writer's slice");
                Assert.That(threads.Skip(QueueEngine.SliceEntries), Is.All.Not.EqualTo(me), "the rest on the engine");
            }
        }
    }

    [Test]
    public void A_PROD_write_while_another_thread_consumes_is_left_to_that_consumer()
    {
        using var bench = new SmmuTestBench(mode: ExecutionMode.Threaded);
        using var inSlice = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var threads = new List<int>();
        bench.Smmu.Interrupt += i =>
        {
            if (i != SmmuInterrupt.CmdSync)
            {
                return;
            }

            lock (threads)
            {
                threads.Add(Environment.CurrentManagedThreadId);
            }

            inSlice.Set();
            release.Wait(Timeout); // the first consumer is busy while the second doorbell rings
        };

        int first = 0;
        var consumer = Task.Run(() =>
        {
            first = Environment.CurrentManagedThreadId;
            bench.Submit(CmdSync(SmmuCommand.CS_SIG_IRQ));
        });
        Assert.That(inSlice.Wait(Timeout), Is.True);
        uint prod = bench.Submit(TlbiNsnhAll(), CmdSync(SmmuCommand.CS_SIG_IRQ)); // returns: nothing consumed here
        release.Set();
        bool consumed = bench.Smmu.CommandQueue.WaitUntilConsumed(prod, Timeout, out _);
        Assert.That(consumer.Wait(Timeout), Is.True);

        lock (threads)
        {
            using (Assert.EnterMultipleScope())
            {
                Assert.That(consumed, Is.True);
                Assert.That(threads, Has.Count.EqualTo(2));
                Assert.That(threads, Is.All.Not.EqualTo(Environment.CurrentManagedThreadId), "one consumer at a time");
                Assert.That(threads[0], Is.EqualTo(first));
            }
        }
    }

    [Test]
    public void Many_doorbells_in_a_row_are_all_consumed_in_order_across_queue_wraps()
    {
        using var bench = new SmmuTestBench(cmdqLog2: 3, mode: ExecutionMode.Threaded);
        uint prod = 0;

        for (int i = 0; i < 40; i++)
        {
            // Software waits for space like a driver: at most 8 entries outstanding.
            Assert.That(SpinWait.SpinUntil(() => bench.Smmu.CommandQueue.FreeEntries(bench.SoftwareProd) > 0, Timeout), Is.True);

            prod = bench.Submit(bench.SyncWithMsi(i, (uint)i + 1));
        }

        bool consumed = bench.Smmu.CommandQueue.WaitUntilConsumed(prod, Timeout, out var error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(consumed, Is.True);
            Assert.That(error, Is.EqualTo(CommandError.CERROR_NONE));
            Assert.That(prod, Is.EqualTo(40u % 16));
            Assert.That(Enumerable.Range(0, 40).Select(bench.ReadMsi), Is.EqualTo(Enumerable.Range(1, 40).Select(i => (uint)i)));
        }
    }

    [Test]
    public void WaitUntilConsumed_returns_the_error_the_engine_stopped_on()
    {
        using var bench = new SmmuTestBench(mode: ExecutionMode.Threaded);

        uint prod = bench.Submit(CmdSync(0), CmdSync(3), CmdSync(0));
        bool returned = bench.Smmu.CommandQueue.WaitUntilConsumed(prod, Timeout, out var error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(returned, Is.True);
            Assert.That(error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(bench.CmdqCons, Is.EqualTo((1u << 24) | 1));
            // CONS.ERR is visible before GERROR (spec §7.1), so the waiter may return a moment before the toggle.
            Assert.That(() => bench.Gerror, Is.EqualTo(1u).After(5000, 1));
        }
    }
}
