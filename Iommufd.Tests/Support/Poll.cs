namespace Iommufd.Tests.Support;

/// <summary>
/// Bounded waits for what another thread (an engine thread, a worker) makes true. The bound is generous and only
/// ends a test that would otherwise hang; no test asserts how long anything took.
/// </summary>
internal static class Poll
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>True once <paramref name="condition"/> holds; false if it still does not after <see cref="Patience"/>.</summary>
    public static bool Until(Func<bool> condition)
    {
        long deadline = Environment.TickCount64 + (long)Patience.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }
}
