using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// The engine threads behind threaded queues: a consumer that throws breaks only its own queue, a queue that
/// always has more goes behind the ones waiting (a bounded slice each), and disposing stops every thread.
/// </summary>
[TestFixture]
public class QueueEngineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Test]
    public void A_slice_that_throws_breaks_only_its_work_and_the_same_thread_serves_the_next()
    {
        long threadsBefore = QueueEngine.LiveThreads;
        using var engine = new QueueEngine(1, "test");
        int badRuns = 0, faults = 0;
        using var goodRan = new ManualResetEventSlim();
        int badThread = 0, goodThread = 0;
        var bad = new QueueEngine.Work("bad", () =>
        {
            Interlocked.Increment(ref badRuns);
            badThread = Environment.CurrentManagedThreadId;
            throw new InvalidOperationException("model bug");
        }, (_, _) => Interlocked.Increment(ref faults));
        var good = new QueueEngine.Work("good", () =>
        {
            goodThread = Environment.CurrentManagedThreadId;
            goodRan.Set();
            return false;
        });

        engine.Schedule(bad);
        engine.Schedule(good);
        Assert.That(goodRan.Wait(Patience), Is.True, "the thread survived and ran the next work");
        engine.Schedule(bad); // broken: not run again
        goodRan.Reset();
        engine.Schedule(good);
        Assert.That(goodRan.Wait(Patience), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bad.Broken, Is.True);
            Assert.That(bad.Fault, Is.TypeOf<InvalidOperationException>());
            Assert.That(Volatile.Read(ref badRuns), Is.EqualTo(1));
            Assert.That(Volatile.Read(ref faults), Is.EqualTo(1));
            Assert.That(goodThread, Is.EqualTo(badThread), "one engine thread did both");
            Assert.That(QueueEngine.LiveThreads, Is.EqualTo(threadsBefore + 1));
        }

        bad.Repair();
        Assert.That(bad.Broken, Is.False);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_slice_asked_for_while_another_thread_runs_it_is_left_to_that_runner(bool throws)
    {
        // Two engine threads can both be handed one work (a doorbell during a slice schedules it again); the
        // second must not run a slice beside the first, or a throwing entry is met, and reported, twice.
        using var inSlice = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int entries = 0, faults = 0;
        var work = new QueueEngine.Work("w", () =>
        {
            Interlocked.Increment(ref entries);
            inSlice.Set();
            release.Wait(Patience);
            return throws ? throw new InvalidOperationException("model bug") : false;
        }, (_, _) => Interlocked.Increment(ref faults));

        var runner = Task.Run(work.RunSlice);
        Assert.That(inSlice.Wait(Patience), Is.True);
        bool secondWantsMore = work.RunSlice();
        release.Set();
        Assert.That(runner.Wait(Patience), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(secondWantsMore, Is.False, "the second thread leaves the work to its runner");
            Assert.That(Volatile.Read(ref entries), Is.EqualTo(1));
            Assert.That(Volatile.Read(ref faults), Is.EqualTo(throws ? 1 : 0));
            Assert.That(runner.Result, Is.EqualTo(!throws), "a healthy runner goes round again for the doorbell it missed");
        }
    }

    [Test]
    public void A_queue_that_always_has_more_gets_one_slice_before_a_queue_that_became_ready()
    {
        using var engine = new QueueEngine(1, "test");
        int streamSlices = 0;
        int slicesBeforeOther = -1;
        using var otherRan = new ManualResetEventSlim();
        var other = new QueueEngine.Work("other", () =>
        {
            slicesBeforeOther = Volatile.Read(ref streamSlices);
            otherRan.Set();
            return false;
        });
        var stream = new QueueEngine.Work("stream", () =>
        {
            int n = Interlocked.Increment(ref streamSlices);
            if (n == 5)
            {
                engine.Schedule(other); // the other VM rings its doorbell while this queue streams
            }

            return !otherRan.IsSet; // always more, until the other queue ran
        });

        engine.Schedule(stream);

        Assert.That(otherRan.Wait(Patience), Is.True);
        Assert.That(slicesBeforeOther, Is.EqualTo(5), "the streaming queue went behind the other after its slice");
    }

    [Test]
    public void Inline_work_that_rings_its_own_doorbell_loops_instead_of_recursing()
    {
        int runs = 0;
        QueueEngine.Work? work = null;
        work = new QueueEngine.Work("inline", () =>
        {
            if (Interlocked.Increment(ref runs) < 10_000)
            {
                work!.RunInline(); // a release from inside a slice (a fix-up) re-rings the doorbell
            }

            return false;
        });

        work.RunInline();

        Assert.That(runs, Is.EqualTo(10_000));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Kick_runs_a_free_work_on_the_caller_unless_the_engine_is_a_host_worker(bool runOnCaller)
    {
        using var engine = new QueueEngine(1, "test", TimeSpan.FromMilliseconds(1), runOnCaller);
        using var ran = new ManualResetEventSlim();
        int thread = 0;
        var work = new QueueEngine.Work("w", () =>
        {
            thread = Environment.CurrentManagedThreadId;
            ran.Set();
            return false;
        });

        engine.Kick(work);

        Assert.That(ran.Wait(Patience), Is.True);
        Assert.That(thread == Environment.CurrentManagedThreadId, Is.EqualTo(runOnCaller));
    }

    [Test]
    public void Polling_engines_that_outnumber_the_cores_lose_no_doorbell_and_all_progress()
    {
        // Each engine's idle thread polls for a whole second: with more pollers than cores they must yield to each
        // other and to the producers, or the doorbells below are never all served.
        int engines = Environment.ProcessorCount * 2;
        const int DoorbellsPerWork = 2_000;
        var pool = Enumerable.Range(0, engines).Select(i => new QueueEngine(1, $"poll{i}", TimeSpan.FromSeconds(1), runOnCaller: i % 2 == 0)).ToArray();
        try
        {
            var pending = new int[engines];
            var served = new long[engines];
            var works = Enumerable.Range(0, engines).Select(i => new QueueEngine.Work($"w{i}", () =>
            {
                // Take what was rung so far, as a consumer reads PROD; any later doorbell runs another slice.
                Interlocked.Add(ref served[i], Interlocked.Exchange(ref pending[i], 0));
                return false;
            })).ToArray();

            var producers = Enumerable.Range(0, engines).Select(i => Task.Run(() =>
            {
                for (int n = 0; n < DoorbellsPerWork; n++)
                {
                    Interlocked.Increment(ref pending[i]);
                    pool[i].Kick(works[i]);
                }
            })).ToArray();

            Assert.That(Task.WaitAll(producers, Patience), Is.True);
            bool allServed = SpinWait.SpinUntil(() => Enumerable.Range(0, engines).All(i => Interlocked.Read(ref served[i]) == DoorbellsPerWork), Patience);

            Assert.That(allServed, Is.True, "no doorbell is lost");
            Assert.That(pending, Is.All.Zero);
        }
        finally
        {
            foreach (var engine in pool)
            {
                engine.Dispose();
            }
        }
    }

    [Test]
    public void Doorbells_handed_to_a_poller_that_stops_polling_are_not_lost()
    {
        // A host worker whose spin budget is short, so its poller often stops polling just as a doorbell hands it a
        // work through the mailbox: the poller then takes the work, or the doorbell takes it back for the ready list.
        int seed = Iommufd.Tests.Stress.StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        const int Works = 3;
        const int DoorbellsPerWork = 3_000;
        using var engine = new QueueEngine(2, "mailbox", TimeSpan.FromMicroseconds(20), runOnCaller: false);
        var pending = new int[Works];
        var served = new long[Works];
        var works = Enumerable.Range(0, Works).Select(i => new QueueEngine.Work($"w{i}", () =>
        {
            Interlocked.Add(ref served[i], Interlocked.Exchange(ref pending[i], 0));
            return false;
        })).ToArray();

        var producers = Enumerable.Range(0, Works).Select(i => Task.Run(() =>
        {
            var random = new Random(seed + i);
            for (int n = 0; n < DoorbellsPerWork; n++)
            {
                Interlocked.Increment(ref pending[i]);
                engine.Kick(works[i]);
                Thread.SpinWait(random.Next(0, 1500)); // from at once to past the spin budget
            }
        })).ToArray();

        Assert.That(Task.WaitAll(producers, Patience), Is.True);
        bool allServed = SpinWait.SpinUntil(() => Enumerable.Range(0, Works).All(i => Interlocked.Read(ref served[i]) == DoorbellsPerWork), Patience);

        Assert.That(allServed, Is.True, "no doorbell is lost");
        Assert.That(pending, Is.All.Zero);
    }

    [Test]
    public void Doorbell_registers_the_poller_watches_lose_no_write_as_watches_begin_end_and_change_hands()
    {
        // More queues than the poller watches at once, and a spin budget so short that the poller often stops (and
        // drops every watch: 1 µs idle) while a writer trusts the watch mark: each PROD write must still be consumed.
        int seed = Iommufd.Tests.Stress.StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        const int Queues = 6;
        const int WritesPerQueue = 3_000;
        const int Log2Entries = 8;
        using var engine = new QueueEngine(2, "watch", TimeSpan.FromMicroseconds(1), runOnCaller: false);
        var memory = new Iommufd.Core.Memory.PhysicalMemory();
        var queues = Enumerable.Range(0, Queues).Select(i => new CommandQueue(memory, Log2Entries, $"q{i}") { Base = Log2Entries }).ToArray();
        var consumed = new uint[Queues];
        var works = Enumerable.Range(0, Queues).Select(i => new QueueEngine.Work($"w{i}", () =>
        {
            Volatile.Write(ref consumed[i], queues[i].Prod); // a consumer takes everything up to PROD
            return false;
        }, doorbell: queues[i])).ToArray();

        // Each writer waits for its write to be consumed, as a guest waits for CONS, so a lost write stops it.
        var lost = new bool[Queues];
        var producers = Enumerable.Range(0, Queues).Select(i => Task.Run(() =>
        {
            var random = new Random(seed + i);
            for (int n = 1; n <= WritesPerQueue && !lost[i]; n++)
            {
                Thread.SpinWait(random.Next(0, 100)); // from at once to past the spin budget
                uint prod = (uint)n & queues[i].IndexWrapMask;
                queues[i].Prod = prod;
                engine.Ring(works[i]);
                lost[i] = !SpinWait.SpinUntil(() => Volatile.Read(ref consumed[i]) == prod, Patience);
            }
        })).ToArray();

        Assert.That(Task.WaitAll(producers, 2 * Patience), Is.True);
        Assert.That(lost, Is.All.False, "no doorbell write is lost");
    }

    [Test]
    public void Disposing_an_engine_stops_and_joins_all_its_threads()
    {
        long before = QueueEngine.LiveThreads;
        var engine = new QueueEngine(3, "test");
        Assert.That(QueueEngine.LiveThreads, Is.EqualTo(before + 3));

        engine.Dispose();
        engine.Dispose();

        Assert.That(QueueEngine.LiveThreads, Is.EqualTo(before));
    }
}
