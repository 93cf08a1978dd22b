using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Memory;
using Iommufd.Tests.Stress;
using Microsoft.Extensions.Logging.Abstractions;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// Four threads issue on one host queue at once, without a lock around their batches: every command runs exactly
/// once, each thread's commands run in the order it issued them, and a batch with an illegal command gets EIO with
/// the index of that command (the rest of it still runs, as the entry is replaced by a CMD_SYNC) while every other
/// batch succeeds. The queue is small, so it wraps many times and
/// issuers meet it full.
/// </summary>
[TestFixture]
public class HostQueueConcurrencyTests
{
    private const int Threads = 4;
    private const int BatchesPerThread = 400;
    private const int Log2Entries = 7;

    [TestCase(false)]
    [TestCase(true)]
    public void Concurrent_issuers_see_every_command_run_once_in_their_order_and_only_poisoned_batches_fail(bool threaded)
    {
        int seed = StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        using var rig = new Rig(threaded);
        var results = new (int Batches, int Failed, string? Problem)[Threads];

        var issuers = Enumerable.Range(0, Threads).Select(t => new Thread(() => results[t] = IssueMany(rig, t, seed + t))).ToArray();
        foreach (var thread in issuers)
        {
            thread.Start();
        }

        foreach (var thread in issuers)
        {
            Assert.That(thread.Join(TimeSpan.FromSeconds(60)), Is.True, "no issuer hangs");
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Queue.Batches, Is.EqualTo(Threads * BatchesPerThread), "every batch counted once, by the owner that rang it");
            foreach (var (batches, failed, problem) in results)
            {
                Assert.That(problem, Is.Null);
                Assert.That(batches, Is.EqualTo(BatchesPerThread));
                Assert.That(failed, Is.GreaterThan(0), "errors were injected");
            }

            for (int t = 0; t < Threads; t++)
            {
                var ran = rig.Executed[t];
                Assert.That(ran, Is.Ordered, $"thread {t}'s commands ran in its order");
                Assert.That(ran.Distinct().Count(), Is.EqualTo(ran.Count), $"thread {t}'s commands ran once each");
                Assert.That(ran, Has.Count.EqualTo(rig.Expected[t]), $"every legal command of thread {t} ran");
            }

            Assert.That(rig.Queue.Timeouts, Is.Zero);
        }
    }

    /// <summary>One thread's batches: commands PREFETCH_CONFIG(StreamID = thread, sequence), some batches with one illegal command.</summary>
    private static (int Batches, int Failed, string? Problem) IssueMany(Rig rig, int thread, int seed)
    {
        var random = new Random(seed);
        var batch = new SmmuCommand[HostCommandQueue.MaxBatch];
        int sequence = 0, failed = 0;
        for (int b = 0; b < BatchesPerThread; b++)
        {
            int n = random.Next(1, batch.Length + 1);
            int poison = random.Next(8) == 0 ? random.Next(n) : -1;
            for (int i = 0; i < n; i++)
            {
                batch[i] = i == poison ? Rig.Poison : SmmuCommandBuilder.PrefetchConfig(Rig.Tag(thread, sequence++));
            }

            var rc = rig.Queue.Issue(batch.AsSpan(0, n), out int failedIndex);
            if (poison < 0 && rc != Errno.Success)
            {
                return (b, failed, $"thread {thread} batch {b}: {rc}");
            }

            if (poison >= 0)
            {
                if (rc != Errno.EIO || failedIndex != poison)
                {
                    return (b, failed, $"thread {thread} batch {b}: {rc} at {failedIndex}, poison at {poison}");
                }

                failed++; // the poisoned entry became a CMD_SYNC; the commands after it still ran
            }

            Interlocked.Exchange(ref rig.Expected[thread], sequence);
        }

        return (BatchesPerThread, failed, null);
    }

    /// <summary>A small command queue whose consumer records what it runs and stops on an illegal command.</summary>
    private sealed class Rig : IDisposable, ICommandExecutor
    {
        public static readonly SmmuCommand Poison = SmmuCommandBuilder.TlbiEl3All();

        private readonly QueueEngine? _engine;
        private readonly QueueEngine.Work _work;
        private readonly CommandQueue _hardware;
        private int _errorActive;

        public Rig(bool threaded)
        {
            var memory = new PhysicalMemory();
            var bank = memory.Allocate(16 << Log2Entries);
            _hardware = new CommandQueue(memory, Log2Entries, "test.cmdq") { Base = bank.BaseAddress | Log2Entries };
            _work = new QueueEngine.Work("test.cmdq", Slice);
            _engine = threaded ? new QueueEngine(1, "test") : null;
            Queue = new HostCommandQueue(
                _hardware,
                prod =>
                {
                    _hardware.Prod = prod;
                    Kick();
                },
                () => Volatile.Read(ref _errorActive) != 0,
                () =>
                {
                    Volatile.Write(ref _errorActive, 0);
                    Kick();
                },
                TimeSpan.FromSeconds(30),
                NullLogger.Instance);
        }

        public HostCommandQueue Queue { get; }

        /// <summary>Per thread: the sequence numbers of its commands in the order they ran (only the consumer adds).</summary>
        public List<int>[] Executed { get; } = Enumerable.Range(0, Threads).Select(_ => new List<int>()).ToArray();

        /// <summary>Per thread: how many of its commands should have run.</summary>
        public int[] Expected { get; } = new int[Threads];

        public static uint Tag(int thread, int sequence) => ((uint)thread << 24) | (uint)sequence;

        public CommandError Execute(in SmmuCommand command, CommandQueue queue)
        {
            switch (command.Opcode)
            {
                case SmmuOpcode.PREFETCH_CONFIG:
                    Executed[command.StreamId >> 24].Add((int)(command.StreamId & 0xFF_FFFF));
                    return CommandError.CERROR_NONE;
                case SmmuOpcode.CMD_SYNC:
                    return CommandError.CERROR_NONE;
                default:
                    return CommandError.CERROR_ILL;
            }
        }

        public void Dispose() => _engine?.Dispose();

        private void Kick()
        {
            if (_engine is null)
            {
                _work.RunInline();
            }
            else
            {
                _engine.Kick(_work);
            }
        }

        private bool Slice()
        {
            if (Volatile.Read(ref _errorActive) != 0)
            {
                return false;
            }

            var self = this;
            var error = _hardware.Consume(ref self, QueueEngine.SliceEntries, out bool more);
            if (error != CommandError.CERROR_NONE)
            {
                Volatile.Write(ref _errorActive, 1); // GERROR.CMDQ_ERR
                return false;
            }

            return more;
        }
    }
}
