using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// A few engine threads that serve many queues: a doorbell schedules a queue's consumer once, whichever thread
/// picks it up runs one bounded slice of it, and a queue with more to do goes to the back of the ready list, so
/// every other ready queue gets its slice first (round robin between queues, whichever VM they belong to). There is
/// never a thread per queue.
/// </summary>
/// <remarks>
/// <para>
/// A doorbell rung through <see cref="Kick"/> runs the slice on the ringing thread when no thread runs the queue
/// (the model of hardware that starts at once: no hand-off), unless the engine is a host worker
/// (<c>runOnCaller: false</c>), whose point is to run on another core. One idle thread at a time polls the ready list
/// for the spin budget before it parks (a side core, as in the vIOMMU paper's sidecore, Amit et al., USENIX ATC 2011), so a doorbell it sees costs one
/// cross-thread hand-off and no wake-up; the other idle threads park at once. A doorbell passes its work to the polling
/// thread through a one-entry mailbox, and a thread that has just run a slice finds an empty ready list without its
/// lock, so a hand-off costs a few interlocked operations on the poller's cache lines and none on the list's. The poller pauses between looks and
/// yields the core every few dozen looks, so threads that outnumber the cores still progress.
/// </para>
/// <para>
/// Nothing a consumer meets can end an engine thread: an exception out of a slice is contained, recorded on the
/// <see cref="Work"/> (which is then broken and never run again until its owner repairs it) and reported to the
/// owner's fault handler. Only that queue stops; the thread goes on serving the others.
/// </para>
/// </remarks>
internal sealed class QueueEngine : IDisposable
{
    /// <summary>Entries a queue consumes in one slice before the queues waiting behind it get theirs.</summary>
    public const int SliceEntries = 64;

    private static readonly long PollYieldTicks = Stopwatch.Frequency / 100_000; // 10 µs of polling between two yields of the core

    private static long s_liveThreads;

    private readonly Lock _lock = new(); // guards _ready and the writes of _readyCount and _stopping (both read without it)
    private readonly Queue<Work> _ready = new();
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly long _spinTicks;
    private readonly bool _runOnCaller;
    private int _readyCount; // _ready.Count, readable without the lock by the polling thread
    private int _parked; // threads blocked, or about to block, on _signal
    private int _polling; // 1 while an idle thread polls the ready list (at most one does)
    private Work? _handoff; // a work passed straight to the polling thread, outside the ready list (see Schedule)
    private bool _stopping; // set under _lock; engine threads read it without it (Volatile) to stop waiting
    private int _disposed;

    /// <summary>
    /// Starts <paramref name="threads"/> engine threads. An idle thread polls for <paramref name="spin"/> before it
    /// parks (zero: it parks at once). With <paramref name="runOnCaller"/>, <see cref="Kick"/> runs a slice on the
    /// ringing thread when the queue is free; without it every slice runs on an engine thread.
    /// </summary>
    public QueueEngine(int threads, string name, TimeSpan spin = default, bool runOnCaller = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        ArgumentOutOfRangeException.ThrowIfLessThan(spin, TimeSpan.Zero);
        _spinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        _runOnCaller = runOnCaller;
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"{name}-engine-{i}" };
            Interlocked.Increment(ref s_liveThreads);
            _threads[i].Start();
        }
    }

    /// <summary>Engine threads alive in the process (every engine's): a leak shows here.</summary>
    public static long LiveThreads => Interlocked.Read(ref s_liveThreads);

    /// <summary>
    /// A doorbell: runs one slice of <paramref name="work"/> on the calling thread when the engine lets callers run
    /// and no thread runs the work now (the rest, if any, is scheduled); otherwise schedules it. A slice that is
    /// running is asked to go round again instead, so one slice at a time ever runs.
    /// </summary>
    public void Kick(Work work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!_runOnCaller)
        {
            Schedule(work);
        }
        else if (work.TryRunSlice(out bool again) && again)
        {
            Schedule(work);
        }
    }

    /// <summary>Schedules <paramref name="work"/> unless it is already waiting to run, is broken, or the engine stopped.</summary>
    public void Schedule(Work work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.Broken || Interlocked.Exchange(ref work.Scheduled, 1) != 0)
        {
            return;
        }

        // A thread polls: hand the work to it in one compare-and-swap, without the ready list's lock (the side core's
        // mailbox: the doorbell and the poller share one cache line, not the lock, the list and its counts). The
        // poller empties the mailbox after it stops polling (both full fences), so if it stopped meanwhile, either it
        // took the work or this thread sees it gone and takes the work back for the ready list.
        if (Volatile.Read(ref _polling) != 0 && Interlocked.CompareExchange(ref _handoff, work, null) is null)
        {
            if (Volatile.Read(ref _polling) != 0 || Interlocked.CompareExchange(ref _handoff, null, work) != work)
            {
                return;
            }
        }

        int ready;
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            _ready.Enqueue(work);
            ready = _ready.Count;
            Volatile.Write(ref _readyCount, ready);
        }

        // A full fence between the enqueue and the reads: a thread that is going to park announces it (_parked)
        // before it looks at the ready list a last time, so one of the two sees the other.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _parked) > 0 && (Volatile.Read(ref _polling) == 0 || ready > 1))
        {
            _signal.Release();
        }
    }

    /// <summary>Stops the threads (a slice that runs finishes first) and waits for them.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_lock)
        {
            _stopping = true;
            _ready.Clear();
            Volatile.Write(ref _readyCount, 0);
        }

        _signal.Release(_threads.Length);
        foreach (var t in _threads)
        {
            if (t != Thread.CurrentThread)
            {
                t.Join();
            }
        }
    }

    private void Run()
    {
        try
        {
            while (TryTake(out var work) || WaitForWork(out work))
            {
                // Clear the flag first: a doorbell that rings while the slice runs schedules it again.
                Volatile.Write(ref work.Scheduled, 0);
                if (work.RunSlice())
                {
                    Schedule(work); // more to do: behind every queue that is already waiting
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref s_liveThreads);
        }
    }

    /// <summary>Idle: polls for the spin budget (one thread at a time), then parks. False when the engine stops.</summary>
    private bool WaitForWork([NotNullWhen(true)] out Work? work)
    {
        while (true)
        {
            if (_spinTicks > 0 && Interlocked.CompareExchange(ref _polling, 1, 0) == 0)
            {
                bool found = Poll();
                Interlocked.Exchange(ref _polling, 0);

                // After polling stopped: a doorbell that handed work over now either is seen here or takes it back.
                work = Interlocked.Exchange(ref _handoff, null);
                if (work is not null && !Volatile.Read(ref _stopping))
                {
                    return true;
                }

                if (found)
                {
                    if (TryTake(out work))
                    {
                        return true;
                    }

                    continue; // another thread took it: poll again
                }
            }

            Interlocked.Increment(ref _parked);
            if (TryTake(out work))
            {
                Interlocked.Decrement(ref _parked);
                return true;
            }

            if (!Volatile.Read(ref _stopping))
            {
                _signal.Wait(); // SemaphoreSlim spins briefly before it blocks
            }

            Interlocked.Decrement(ref _parked);
            if (Volatile.Read(ref _stopping))
            {
                return false;
            }

            if (TryTake(out work))
            {
                return true;
            }
        }
    }

    /// <summary>Polls the ready list until it holds work, the budget ends or the engine stops; true when work is ready.</summary>
    private bool Poll()
    {
        long now = Stopwatch.GetTimestamp();
        long deadline = now + _spinTicks;
        long nextYield = now + PollYieldTicks;
        while (Volatile.Read(ref _readyCount) == 0 && Volatile.Read(ref _handoff) is null)
        {
            now = Stopwatch.GetTimestamp();
            if (Volatile.Read(ref _stopping) || now >= deadline)
            {
                return false;
            }

            // Mostly pause (a doorbell is seen within a short spin, where SpinWait would already sched_yield after ten
            // rounds), and yield the core every PollYield so that threads outnumbering the cores still run, however
            // long a pause takes on this processor; never sleep.
            if (now >= nextYield)
            {
                Thread.Yield();
                nextYield = Stopwatch.GetTimestamp() + PollYieldTicks;
            }
            else
            {
                Thread.SpinWait(PausingPoll.PauseIterations);
            }
        }

        return true;
    }

    private bool TryTake([NotNullWhen(true)] out Work? work)
    {
        // An empty list is seen without the lock. A look that misses a work just queued is followed by one that
        // cannot: before parking, a thread announces it (a full fence) and looks again, and Schedule fences after
        // queueing before it reads that announcement.
        if (Volatile.Read(ref _readyCount) == 0)
        {
            work = null;
            return false;
        }

        lock (_lock)
        {
            if (_stopping || !_ready.TryDequeue(out work))
            {
                work = null;
                return false;
            }

            Volatile.Write(ref _readyCount, _ready.Count);
            return true;
        }
    }

    /// <summary>
    /// A schedulable unit: one queue's consumer. Its slice function consumes a bounded number of entries and returns
    /// true when the queue has more.
    /// </summary>
    public sealed class Work
    {
        internal int Scheduled;

        private const int Idle = 0;
        private const int Running = 1;
        private const int RunningAgain = 2; // running, and a doorbell rang since the slice began

        private readonly Func<bool> _slice;
        private readonly Action<Work, Exception>? _onFault;
        private int _state; // Idle, Running or RunningAgain: one word, so a doorbell and a runner meet in one CAS each
        private Exception? _fault;

        public Work(string name, Func<bool> slice, Action<Work, Exception>? onFault = null)
        {
            ArgumentNullException.ThrowIfNull(slice);
            Name = name;
            _slice = slice;
            _onFault = onFault;
        }

        public string Name { get; }

        /// <summary>The exception that broke this work, or null while it is healthy.</summary>
        public Exception? Fault => Volatile.Read(ref _fault);

        /// <summary>True once a slice threw: the work is not run again until <see cref="Repair"/>.</summary>
        public bool Broken => Fault is not null;

        /// <summary>Makes broken work runnable again (its owner reset the queue).</summary>
        public void Repair() => Volatile.Write(ref _fault, null);

        /// <summary>
        /// Runs the work on the calling thread until it has nothing more to do (inline execution). A call that
        /// arrives while another thread (or this one, re-entering) runs it only asks that runner to go round again,
        /// so re-entrant doorbells loop instead of recursing.
        /// </summary>
        public void RunInline()
        {
            while (TryRunSlice(out bool again) && again)
            {
            }
        }

        /// <summary>
        /// One slice on an engine thread; true when the work should be scheduled again. A doorbell that rang while
        /// the slice ran has cleared <see cref="Scheduled"/>, so a second engine thread may arrive here while the
        /// first still runs: it only asks the runner to go round again, so one slice at a time ever runs and a
        /// throwing entry is met (and reported) once, not once per thread that was woken for it.
        /// </summary>
        internal bool RunSlice() => TryRunSlice(out bool again) && again;

        /// <summary>
        /// Runs one slice here unless another thread runs one now; false when it was left to that runner (which was
        /// asked to go round again). <paramref name="again"/>: the work has more, or a doorbell rang during the slice.
        /// </summary>
        /// <remarks>
        /// The runner and the doorbells share one state word. A doorbell that finds the work idle takes it (one CAS);
        /// one that finds it running marks it RunningAgain (one CAS) and leaves; the runner's release (an exchange)
        /// returns whether that happened. Each is a full fence, so a doorbell's PROD store either precedes the
        /// runner's acquire (and its slice reads it) or is followed by the mark the runner sees when it lets go: no
        /// doorbell is lost, and an uncontended slice costs two interlocked operations.
        /// </remarks>
        internal bool TryRunSlice(out bool again)
        {
            again = false;
            int state = Interlocked.CompareExchange(ref _state, Running, Idle);
            while (state != Idle)
            {
                // Running: ask the runner to go round again. RunningAgain: already asked, but the CAS (a full fence)
                // still orders this doorbell's PROD store before the runner's release, which clears the mark.
                int seen = Interlocked.CompareExchange(ref _state, RunningAgain, state);
                if (seen == state)
                {
                    return false;
                }

                state = seen == Idle ? Interlocked.CompareExchange(ref _state, Running, Idle) : seen;
            }

            bool more = false;
            bool rang;
            try
            {
                more = RunSliceContained();
            }
            finally
            {
                rang = Interlocked.Exchange(ref _state, Idle) == RunningAgain;
            }

            again = (more || rang) && !Broken;
            return true;
        }

        /// <summary>One slice with its faults contained; true when there is more to do.</summary>
        private bool RunSliceContained()
        {
            if (Broken)
            {
                return false;
            }

            try
            {
                return _slice();
            }
#pragma warning disable CA1031 // an engine thread must survive whatever a consumer throws: it is recorded, not lost
            catch (Exception e)
            {
                Volatile.Write(ref _fault, e);
                try
                {
                    _onFault?.Invoke(this, e);
                }
                catch (Exception)
                {
                    // A fault handler that throws changes nothing: the work is already broken and recorded.
                }

                return false;
            }
#pragma warning restore CA1031
        }
    }
}
