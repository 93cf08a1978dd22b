using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

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
/// lock, so a hand-off costs a few interlocked operations on the poller's cache lines and none on the list's. The poller
/// runs what it finds itself and then watches the doorbell register (PROD) of each queue it ran, a few at a time, so
/// that queue's next PROD write (<see cref="Ring"/>) needs no doorbell at all: the poller's first miss is PROD itself.
/// It pauses between looks and yields the core every few dozen looks, so threads that outnumber the cores still progress.
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

    /// <summary>Doorbell registers the polling thread watches at most (the works that rang it last).</summary>
    private const int WatchedDoorbells = 4;

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
    private readonly Work?[] _watched = new Work?[WatchedDoorbells]; // the works whose doorbell register the poller looks at: only the thread that polls touches it
    private int _watchedCount;
    private int _nextUnwatched; // the watched slot a newcomer takes when all are in use
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

    /// <summary>
    /// A write to <paramref name="work"/>'s doorbell register (<see cref="Work.Doorbell"/>, stored before this call): a
    /// <see cref="Kick"/>, unless the polling thread watches that register, in which case it sees the write itself and
    /// the writer touches nothing the poller writes. Any other reason to run the work (an error acknowledged, the
    /// queue enabled) is a <see cref="Kick"/>: it changes no register the poller watches.
    /// </summary>
    public void Ring(Work work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.Doorbell is not null && _spinTicks > 0)
        {
            // A full fence between the register store and the read of the watch mark, as the poller fences between
            // clearing the mark and its last look at the register (Unwatch): one of the two sees the other.
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref work.Watched) != 0)
            {
                return;
            }
        }

        Kick(work);
    }

    /// <summary>Schedules <paramref name="work"/> unless it is already waiting to run, is broken, or the engine stopped.</summary>
    public void Schedule(Work work) => Schedule(work, handOff: true);

    /// <summary>
    /// <see cref="Schedule(Work)"/>; with <paramref name="handOff"/> a polling thread may get the work through the
    /// mailbox, otherwise it goes to the back of the ready list (a work the poller itself ran that has more: every
    /// other ready work runs first).
    /// </summary>
    private void Schedule(Work work, bool handOff)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.Broken || Interlocked.Exchange(ref work.Hot.Scheduled, 1) != 0)
        {
            return;
        }

        // A thread polls: hand the work to it in one compare-and-swap, without the ready list's lock (the side core's
        // mailbox: the doorbell and the poller share one cache line, not the lock, the list and its counts). The
        // poller empties the mailbox after it stops polling (both full fences), so if it stopped meanwhile, either it
        // took the work or this thread sees it gone and takes the work back for the ready list.
        if (handOff && Volatile.Read(ref _polling) != 0 && Interlocked.CompareExchange(ref _handoff, work, null) is null)
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
                Volatile.Write(ref work.Hot.Scheduled, 0);
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

    /// <summary>
    /// Idle: polls for the spin budget (one thread at a time; it serves what it finds itself, see <see cref="Poll"/>),
    /// then parks. False when the engine stops.
    /// </summary>
    private bool WaitForWork([NotNullWhen(true)] out Work? work)
    {
        while (true)
        {
            if (_spinTicks > 0 && Interlocked.CompareExchange(ref _polling, 1, 0) == 0)
            {
                Poll();
                UnwatchAll(); // still polling: a doorbell it had not seen yet comes back through the mailbox
                Interlocked.Exchange(ref _polling, 0);

                // After polling stopped: a doorbell that handed work over now either is seen here or takes it back.
                work = Interlocked.Exchange(ref _handoff, null);
                if (work is not null && !Volatile.Read(ref _stopping))
                {
                    return true;
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

    /// <summary>
    /// The side core: until nothing arrived for the spin budget (or the engine stops), runs on this thread what the
    /// mailbox and the ready list hold and the works whose watched doorbell register moved. Staying the poller while it
    /// runs them, it keeps watching their doorbells, so a queue it serves rings without a write to any line the
    /// poller writes: the poller's first miss is the doorbell register itself.
    /// </summary>
    private void Poll()
    {
        long now = Stopwatch.GetTimestamp();
        long deadline = now + _spinTicks;
        long nextYield = now + PollYieldTicks;
        while (!Volatile.Read(ref _stopping))
        {
            if (Volatile.Read(ref _handoff) is not null && Interlocked.Exchange(ref _handoff, null) is { } handedOff)
            {
                RunPolled(handedOff, scheduled: true);
            }
            else if (TryTake(out var ready))
            {
                RunPolled(ready, scheduled: true);
            }
            else if (!RunRungDoorbells())
            {
                now = Stopwatch.GetTimestamp();
                if (now >= deadline)
                {
                    return;
                }

                // Mostly pause (a doorbell is seen within a short spin, where SpinWait would already sched_yield after
                // ten rounds), and yield the core every PollYield so that threads outnumbering the cores still run,
                // however long a pause takes on this processor; never sleep.
                if (now >= nextYield)
                {
                    Thread.Yield();
                    nextYield = Stopwatch.GetTimestamp() + PollYieldTicks;
                }
                else
                {
                    Thread.SpinWait(PausingPoll.PauseIterations);
                }

                continue;
            }

            now = Stopwatch.GetTimestamp();
            deadline = now + _spinTicks;
            nextYield = now + PollYieldTicks;
        }
    }

    /// <summary>One slice on the polling thread; a work with a doorbell register is watched from now on.</summary>
    private void RunPolled(Work work, bool scheduled)
    {
        if (scheduled)
        {
            Volatile.Write(ref work.Hot.Scheduled, 0); // first: a doorbell that rings while the slice runs schedules it again
        }

        if (work.Doorbell is { } doorbell)
        {
            Watch(work);
            work.Hot.SeenDoorbell = doorbell.Prod; // before the slice, which reads PROD after it: a later write is seen moving
        }

        if (work.RunSlice())
        {
            Schedule(work, handOff: false);
        }
    }

    /// <summary>Runs the watched works whose doorbell register moved since the poller last looked; true if any did.</summary>
    private bool RunRungDoorbells()
    {
        bool ran = false;
        for (int i = 0; i < _watchedCount; i++)
        {
            var work = _watched[i]!;
            if (work.Doorbell!.Prod != work.Hot.SeenDoorbell)
            {
                RunPolled(work, scheduled: false);
                ran = true;
            }
        }

        return ran;
    }

    /// <summary>Watches <paramref name="work"/>'s doorbell register, in place of the work watched longest when all slots are taken.</summary>
    private void Watch(Work work)
    {
        if (Volatile.Read(ref work.Watched) != 0)
        {
            return;
        }

        if (_watchedCount == _watched.Length)
        {
            Unwatch(_watched[_nextUnwatched]!);
            _watched[_nextUnwatched] = work;
            _nextUnwatched = (_nextUnwatched + 1) % _watched.Length;
        }
        else
        {
            _watched[_watchedCount++] = work;
        }

        Volatile.Write(ref work.Watched, 1);
    }

    /// <summary>Stops watching every doorbell register (the poller stops polling).</summary>
    private void UnwatchAll()
    {
        for (int i = 0; i < _watchedCount; i++)
        {
            Unwatch(_watched[i]!);
            _watched[i] = null;
        }

        _watchedCount = 0;
        _nextUnwatched = 0;
    }

    /// <summary>
    /// Stops watching <paramref name="work"/>'s doorbell register. A write the poller has not seen yet was made while
    /// the writer took the mark for a promise (see <see cref="Ring"/>): it is scheduled here, so none is lost.
    /// </summary>
    private void Unwatch(Work work)
    {
        Volatile.Write(ref work.Watched, 0);
        Interlocked.MemoryBarrier();
        if (work.Doorbell!.Prod != work.Hot.SeenDoorbell)
        {
            Schedule(work);
        }
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
        /// <summary>
        /// 1 while a polling thread watches <see cref="Doorbell"/>, so a write to it needs no <see cref="Kick"/>
        /// (<see cref="Ring"/>). Read by every doorbell writer and written only when the watch begins or ends, so it
        /// sits away from the words written on every slice (<see cref="RunState"/>).
        /// </summary>
        internal int Watched;

        /// <summary>The words the engine writes as the work is scheduled and run, on cache lines of their own.</summary>
        internal RunState Hot;

        private const int Idle = 0;
        private const int Running = 1;
        private const int RunningAgain = 2; // running, and a doorbell rang since the slice began

        private readonly Func<bool> _slice;
        private readonly Action<Work, Exception>? _onFault;
        private Exception? _fault;

        /// <param name="name">For diagnostics.</param>
        /// <param name="slice">Consumes a bounded number of entries; true when the queue has more.</param>
        /// <param name="onFault">Told about an exception out of <paramref name="slice"/>.</param>
        /// <param name="doorbell">
        /// The queue whose PROD register is this work's doorbell, which a polling engine thread may watch in place of
        /// waiting for <see cref="Ring"/> (null: the work runs only when kicked or scheduled).
        /// </param>
        public Work(string name, Func<bool> slice, Action<Work, Exception>? onFault = null, CommandQueue? doorbell = null)
        {
            ArgumentNullException.ThrowIfNull(slice);
            Name = name;
            _slice = slice;
            _onFault = onFault;
            Doorbell = doorbell;
        }

        public string Name { get; }

        /// <summary>The queue whose PROD register rings this work, or null.</summary>
        public CommandQueue? Doorbell { get; }

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
        /// the slice ran has cleared <see cref="RunState.Scheduled"/>, so a second engine thread may arrive here while the
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
            int state = Interlocked.CompareExchange(ref Hot.State, Running, Idle);
            while (state != Idle)
            {
                // Running: ask the runner to go round again. RunningAgain: already asked, but the CAS (a full fence)
                // still orders this doorbell's PROD store before the runner's release, which clears the mark.
                int seen = Interlocked.CompareExchange(ref Hot.State, RunningAgain, state);
                if (seen == state)
                {
                    return false;
                }

                state = seen == Idle ? Interlocked.CompareExchange(ref Hot.State, Running, Idle) : seen;
            }

            bool more = false;
            bool rang;
            try
            {
                more = RunSliceContained();
            }
            finally
            {
                rang = Interlocked.Exchange(ref Hot.State, Idle) == RunningAgain;
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

        /// <summary>
        /// Whether the work is scheduled, its run state and the doorbell value last seen: written as the work is scheduled
        /// and run, alone on their cache lines (<see cref="CacheLine.Padding"/>), so a doorbell writer that reads only
        /// <see cref="Watched"/> and <see cref="Doorbell"/> does not pull them away from the runner.
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = (2 * CacheLine.Padding) + 12)]
        internal struct RunState
        {
            /// <summary>1 while the work waits in the ready list or the mailbox.</summary>
            [FieldOffset(CacheLine.Padding)]
            public int Scheduled;

            /// <summary>Idle, Running or RunningAgain: one word, so a doorbell and a runner meet in one CAS each.</summary>
            [FieldOffset(CacheLine.Padding + 4)]
            public int State;

            /// <summary>The doorbell register as the poller last read it before a slice (only the polling thread uses it).</summary>
            [FieldOffset(CacheLine.Padding + 8)]
            public uint SeenDoorbell;
        }
    }
}
