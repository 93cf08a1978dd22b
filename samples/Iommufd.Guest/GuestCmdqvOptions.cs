namespace Iommufd.Guest;

/// <summary>How the guest CMDQV driver sizes its VCMDQ and how long it waits for the hardware.</summary>
public sealed record GuestCmdqvOptions
{
    /// <summary>log2 of the VCMDQ's 16-byte entries (default 256 entries, 4 KiB: within one host page).</summary>
    public int QueueLog2Entries { get; init; } = 8;

    /// <summary>How long a CMD_SYNC or an enable acknowledgement may take.</summary>
    public TimeSpan SyncTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
