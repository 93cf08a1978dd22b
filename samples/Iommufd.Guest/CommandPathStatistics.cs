using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// What a command path did: commands and syncs issued, errors by CERROR code, sync timeouts, and the last
/// <see cref="MaxRecordedFailures"/> failures. Safe to read while the path runs (counters are updated atomically).
/// </summary>
public sealed class CommandPathStatistics
{
    /// <summary>How many failures are kept; older ones are dropped first (a stuck queue may retry forever).</summary>
    public const int MaxRecordedFailures = 256;

    private readonly Lock _failuresLock = new(); // guards _failures
    private readonly Queue<CommandFailure> _failures = new();
    private readonly long[] _errors = new long[4];
    private long _commands;
    private long _syncs;
    private long _batches;
    private long _syncTimeouts;
    private long _otherGlobalErrors;

    /// <summary>Commands issued, not counting the CMD_SYNCs the path appended.</summary>
    public long Commands => Interlocked.Read(ref _commands);

    /// <summary>CMD_SYNCs the path appended (one per batch).</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>Batches written (a submission larger than the queue is split into several).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Syncs that did not complete within the path's timeout.</summary>
    public long SyncTimeouts => Interlocked.Read(ref _syncTimeouts);

    /// <summary>GERROR bits other than CMDQ_ERR seen active and acknowledged with it (e.g. EVENTQ_ABT_ERR).</summary>
    public long OtherGlobalErrors => Interlocked.Read(ref _otherGlobalErrors);

    /// <summary>Command errors handled, all codes together.</summary>
    public long TotalErrors => Errors(CommandError.CERROR_ILL) + Errors(CommandError.CERROR_ABT) + Errors(CommandError.CERROR_ATC_INV_SYNC) + Interlocked.Read(ref _errors[0]);

    /// <summary>The failures recorded, oldest first.</summary>
    public IReadOnlyList<CommandFailure> Failures
    {
        get
        {
            lock (_failuresLock)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>Command errors handled with CONS.ERR = <paramref name="error"/> (unknown codes count as CERROR_NONE).</summary>
    public long Errors(CommandError error) => Interlocked.Read(ref _errors[(int)error < _errors.Length ? (int)error : 0]);

    /// <summary>
    /// The counters on one line, for a report: commands, syncs, batches, each CERROR handled and sync timeouts.
    /// </summary>
    public override string ToString() =>
        $"commands={Commands} syncs={Syncs} batches={Batches} ILL={Errors(CommandError.CERROR_ILL)} ABT={Errors(CommandError.CERROR_ABT)} " +
        $"ATC_INV_SYNC={Errors(CommandError.CERROR_ATC_INV_SYNC)} timeouts={SyncTimeouts}";

    internal void AddBatch(int commands)
    {
        Interlocked.Add(ref _commands, commands);
        Interlocked.Increment(ref _syncs);
        Interlocked.Increment(ref _batches);
    }

    internal void AddTimeout() => Interlocked.Increment(ref _syncTimeouts);

    internal void AddOtherGlobalErrors(int count) => Interlocked.Add(ref _otherGlobalErrors, count);

    internal void AddFailure(in CommandFailure failure)
    {
        int code = (int)failure.Error;
        Interlocked.Increment(ref _errors[code < _errors.Length ? code : 0]);
        lock (_failuresLock)
        {
            if (_failures.Count == MaxRecordedFailures)
            {
                _failures.Dequeue();
            }

            _failures.Enqueue(failure);
        }
    }
}
