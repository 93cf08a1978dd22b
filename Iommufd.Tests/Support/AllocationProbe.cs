namespace Iommufd.Tests.Support;

/// <summary>Measures what a call allocates on the calling thread once it is warm.</summary>
internal static class AllocationProbe
{
    /// <summary>
    /// Bytes allocated by <paramref name="call"/> in steady state: the smallest total over a few windows of
    /// <paramref name="callsPerWindow"/> calls. A call that allocates every time makes every window non-zero; a
    /// one-off event (a lazily built runtime structure, the runtime retiring the thread's allocation context
    /// during a suspension another thread caused) touches at most one window.
    /// </summary>
    public static long SteadyStateBytes(Action call, int callsPerWindow = 200, int windows = 5)
    {
        for (int i = 0; i < 50; i++)
        {
            call(); // warm up: JIT, lazily created caches
        }

        long best = long.MaxValue;
        for (int w = 0; w < windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerWindow; i++)
            {
                call();
            }

            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return best;
    }
}
