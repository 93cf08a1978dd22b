namespace Iommufd.Benchmarks;

/// <summary>
/// Dedicated threads for a multi-threaded benchmark: each <see cref="Run"/> releases every thread at once through a
/// barrier, each runs its share, and <see cref="Run"/> returns when all have finished. No thread pool in the measured
/// section (Parallel.For would time its scheduling and let one thread run several shares).
/// </summary>
public sealed class WorkerThreads : IDisposable
{
    private readonly Thread[] _threads;
    private readonly Barrier _barrier;
    private readonly Action<int> _share;
    private volatile bool _stopping;
    private Exception? _failure;

    public WorkerThreads(int count, Action<int> share)
    {
        _share = share;
        _barrier = new Barrier(count + 1);
        _threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"bench-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Runs every thread's share once, all starting together; rethrows the first failure.</summary>
    public void Run()
    {
        _barrier.SignalAndWait(); // start
        _barrier.SignalAndWait(); // all done
        if (_failure is { } failure)
        {
            throw new InvalidOperationException("a benchmark thread failed", failure);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _barrier.SignalAndWait();
        foreach (var t in _threads)
        {
            t.Join();
        }

        _barrier.Dispose();
    }

    private void Loop(int index)
    {
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            try
            {
                _share(index);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }

            _barrier.SignalAndWait();
        }
    }
}
