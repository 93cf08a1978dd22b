namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// A few engine threads that serve many queues: a doorbell schedules a queue's consumer once, whichever thread
/// picks it up runs one bounded slice of it, and a queue with more to do goes to the back of the ready list, so
/// every other ready queue gets its slice first (round robin between queues, whichever VM they belong to). Idle
/// threads spin briefly, then park. There is never a thread per queue.
/// </summary>
/// <remarks>
/// Nothing a consumer meets can end an engine thread: an exception out of a slice is contained, recorded on the
/// <see cref="Work"/> (which is then broken and never run again until its owner repairs it) and reported to the
/// owner's fault handler. Only that queue stops; the thread goes on serving the others.
/// </remarks>
public sealed class QueueEngine : IDisposable
{
    /// <summary>Entries a queue consumes in one slice before the queues waiting behind it get theirs.</summary>
    public const int SliceEntries = 64;

    private static long s_liveThreads;

    private readonly Lock _lock = new(); // guards _ready and _stopping
    private readonly Queue<Work> _ready = new();
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _signal = new(0);
    private bool _stopping;
    private int _disposed;

    public QueueEngine(int threads, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
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

    /// <summary>Schedules <paramref name="work"/> unless it is already waiting to run, is broken, or the engine stopped.</summary>
    public void Schedule(Work work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.Broken || Interlocked.Exchange(ref work.Scheduled, 1) != 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            _ready.Enqueue(work);
        }

        _signal.Release();
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
            while (true)
            {
                // SemaphoreSlim spins briefly before it blocks.
                _signal.Wait();
                Work? work;
                lock (_lock)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    if (!_ready.TryDequeue(out work))
                    {
                        continue;
                    }
                }

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

    /// <summary>
    /// A schedulable unit: one queue's consumer. Its slice function consumes a bounded number of entries and returns
    /// true when the queue has more.
    /// </summary>
    public sealed class Work
    {
        internal int Scheduled;

        private readonly Func<bool> _slice;
        private readonly Action<Work, Exception>? _onFault;
        private int _running;
        private int _again;
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
            Volatile.Write(ref _again, 1);
            while (Volatile.Read(ref _again) != 0 && Interlocked.CompareExchange(ref _running, 1, 0) == 0)
            {
                try
                {
                    bool more = false;
                    while ((Interlocked.Exchange(ref _again, 0) != 0 || more) && !Broken)
                    {
                        more = RunSliceContained();
                    }
                }
                finally
                {
                    Volatile.Write(ref _running, 0);
                }
            }
        }

        /// <summary>
        /// One slice on an engine thread; true when the work should be scheduled again. A doorbell that rang while
        /// the slice ran has cleared <see cref="Scheduled"/>, so a second engine thread may arrive here while the
        /// first still runs: it only asks the runner to go round again, so one slice at a time ever runs and a
        /// throwing entry is met (and reported) once, not once per thread that was woken for it.
        /// </summary>
        internal bool RunSlice()
        {
            Volatile.Write(ref _again, 1);
            if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
            {
                return false; // the runner sees _again after it lets go, and schedules the work again
            }

            bool more;
            try
            {
                Volatile.Write(ref _again, 0);
                more = RunSliceContained();
            }
            finally
            {
                Volatile.Write(ref _running, 0);
            }

            return (more || Volatile.Read(ref _again) != 0) && !Broken;
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
