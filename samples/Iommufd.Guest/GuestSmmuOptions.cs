namespace Iommufd.Guest;

/// <summary>How the guest SMMU driver sizes its structures and how long it waits for the hardware.</summary>
public sealed record GuestSmmuOptions
{
    /// <summary>log2 of the command queue's entries (default 256), capped at IDR1.CMDQS.</summary>
    public int CommandQueueLog2Entries { get; init; } = 8;

    /// <summary>log2 of the event queue's 32-byte records (default 128), capped at IDR1.EVENTQS.</summary>
    public int EventQueueLog2Entries { get; init; } = 7;

    /// <summary>log2 of the STEs in the linear stream table (default 256 StreamIDs), capped at IDR1.SIDSIZE.</summary>
    public int StreamTableLog2Entries { get; init; } = 8;

    /// <summary>How long a CMD_SYNC, CR0ACK or IRQ_CTRLACK may take (Linux polls for 1 s).</summary>
    public TimeSpan SyncTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Use range TLBIs (TG/NUM/SCALE) when IDR3.RIL says the SMMU has them; otherwise one TLBI per page.</summary>
    public bool UseRangeInvalidation { get; init; } = true;
}
