namespace SmmuCmd;

/// <summary>Counts the verdicts of one <c>check</c> run and words its one-line summary.</summary>
internal sealed class CheckTally
{
    public int Accepted { get; private set; }

    /// <summary>Every entry seen so far.</summary>
    public int Count => Accepted + Refused;

    public int Refused { get; private set; }

    /// <summary>Refused by a guest VCMDQ, but run by the host fix-up.</summary>
    public int HostRuns { get; private set; }

    /// <summary>Accepted with a warning (the trap path accepts what the host queue would still refuse).</summary>
    public int Warnings { get; private set; }

    /// <summary>The first refused entry, or -1.</summary>
    public int FirstRefused { get; private set; } = -1;

    /// <summary>The first refused entry the host fix-up does not rescue, or -1: where a queue would stop.</summary>
    public int FirstStop { get; private set; } = -1;

    public void Add(int index, Verdict verdict)
    {
        if (verdict.Accepted)
        {
            Accepted++;
            Warnings += verdict.Note is null ? 0 : 1;
            return;
        }

        Refused++;
        FirstRefused = FirstRefused < 0 ? index : FirstRefused;
        if (verdict.HostRuns)
        {
            HostRuns++;
        }
        else if (FirstStop < 0)
        {
            FirstStop = index;
        }
    }

    public string Summary(QueueKind kind, int count)
    {
        string label = kind switch
        {
            QueueKind.Smmu => "smmu queue",
            QueueKind.Trap => "trap path (IOMMU_HWPT_INVALIDATE)",
            _ => "guest VCMDQ",
        };
        string entries = count == 1 ? "1 entry" : $"{count} entries";
        if (Refused == 0)
        {
            string all = count == 0 ? $"{label}: no entries" : $"{label}: {entries}, all accepted";
            return Warnings == 0 ? all : $"{all}; {Warnings} would still raise CERROR_ILL on the host queue";
        }

        string text = $"{label}: {entries}, {Accepted} accepted, {Refused} refused";
        switch (kind)
        {
            case QueueKind.Smmu:
                text += $"; the queue stops with CERROR_ILL at entry {FirstStop}";
                break;
            case QueueKind.Trap:
                text += $"; the ioctl fails with EIO at entry {FirstRefused} (entry_num = {FirstRefused})";
                break;
            default:
                text += HostRuns == 0 ? string.Empty : $" ({HostRuns} run by the host fix-up)";
                text += FirstStop < 0 ? string.Empty : $"; the queue stops with CERROR_ILL at entry {FirstStop}";
                break;
        }

        return Warnings == 0 ? text : $"{text}; {Warnings} accepted would still raise CERROR_ILL on the host queue";
    }
}
