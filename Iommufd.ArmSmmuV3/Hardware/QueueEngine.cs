namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// A few engine threads that serve many queues: a doorbell schedules a queue's consumer once, whichever thread
/// picks it up drains it. Idle threads spin briefly, then park. There is never a thread per queue.
/// </summary>
public sealed class QueueEngine : IDisposable
{
    private readonly Lock _lock = new(); // guards _ready and _stopping
    private readonly Queue<Work> _ready = new();
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _signal = new(0);
    private bool _stopping;

    public QueueEngine(int threads, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"{name}-engine-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Schedules <paramref name="work"/> unless it is already waiting to run.</summary>
    public void Schedule(Work work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Interlocked.Exchange(ref work.Scheduled, 1) != 0)
        {
            return;
        }

        lock (_lock)
        {
            _ready.Enqueue(work);
        }

        _signal.Release();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
        }

        _signal.Release(_threads.Length);
        foreach (var t in _threads)
        {
            t.Join();
        }

        _signal.Dispose();
    }

    private void Run()
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

            // Clear the flag first: a doorbell that rings while the work runs schedules it again.
            Volatile.Write(ref work.Scheduled, 0);
            work.Run();
        }
    }

    /// <summary>A schedulable unit: one queue's consumer.</summary>
    public sealed class Work
    {
        internal int Scheduled;

        private readonly Action _run;

        public Work(Action run) => _run = run;

        internal void Run() => _run();
    }
}
