namespace NestedVmm;

/// <summary>What one path did.</summary>
public sealed record PathResult(
    GuestPath Path,
    long DmaOperations,
    long Rounds,
    long GuestCommands,
    long Syncs,
    long Errors,
    long StaleTranslations,
    long FaultEventsSeen,
    long VmmIoctls,
    double InvalidationP50Microseconds,
    double InvalidationP99Microseconds,
    double InvalidationsPerSecond,
    TimeSpan Elapsed)
{
    /// <summary>True when nothing went wrong: no stale translation was ever used and no command failed.</summary>
    public bool Passed => StaleTranslations == 0 && Errors == 0 && Rounds > 0;
}
