using Iommufd.Vmm;

namespace NestedVmm;

/// <summary>What one path did.</summary>
/// <param name="Path">The path.</param>
/// <param name="DmaOperations">Device transactions, over all vCPUs.</param>
/// <param name="Rounds">Map → DMA → unmap → check rounds, over all vCPUs.</param>
/// <param name="GuestCommands">Commands the guest driver issued, on every queue it used.</param>
/// <param name="Syncs">CMD_SYNCs the guest driver issued.</param>
/// <param name="Errors">Command errors the guest driver handled (CONS.ERR).</param>
/// <param name="StaleTranslations">DMAs that succeeded after unmap + invalidation: must be 0.</param>
/// <param name="FaultEventsSeen">Event records the guest read.</param>
/// <param name="VmmIoctls">IOMMU_HWPT_INVALIDATE calls the VMM made for the guest.</param>
/// <param name="Traps">Guest accesses the VMM emulated, each charged <paramref name="TrapCost"/>.</param>
/// <param name="TrapCost">The exit cost charged per trap.</param>
/// <param name="Invalidation">Each unmap's TLBI + CMD_SYNC (and ATC_INV + CMD_SYNC for the ATS device).</param>
/// <param name="Elapsed">How long the path ran.</param>
/// <param name="Cancelled">True when the run was interrupted (Ctrl-C) before its end.</param>
public sealed record PathResult(
    InvalidationPath Path,
    long DmaOperations,
    long Rounds,
    long GuestCommands,
    long Syncs,
    long Errors,
    long StaleTranslations,
    long FaultEventsSeen,
    long VmmIoctls,
    long Traps,
    TrapCost TrapCost,
    InvalidationStatistics Invalidation,
    TimeSpan Elapsed,
    bool Cancelled)
{
    /// <summary>True when nothing went wrong: no stale translation was ever used and no command failed.</summary>
    public bool Passed => StaleTranslations == 0 && Errors == 0 && Rounds > 0;
}
