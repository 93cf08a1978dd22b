namespace SmmuCmd;

/// <summary>What one queue would do with one entry.</summary>
/// <param name="Accepted">The queue takes the entry.</param>
/// <param name="Reason">Why it is refused; null when accepted.</param>
/// <param name="HostRuns">Refused by a guest VCMDQ, but the host fix-up would run it, so the guest sees it consumed.</param>
/// <param name="Note">A remark printed under the entry: what the host fix-up does, or a warning on an accepted entry.</param>
internal readonly record struct Verdict(bool Accepted, string? Reason, bool HostRuns, string? Note)
{
    public static Verdict Accept(string? note = null) => new(true, null, false, note);

    public static Verdict Refuse(string reason, bool hostRuns = false, string? note = null) => new(false, reason, hostRuns, note);
}
