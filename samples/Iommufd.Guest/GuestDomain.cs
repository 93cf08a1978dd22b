using Iommufd.ArmSmmuV3.Driver;

namespace Iommufd.Guest;

/// <summary>What the guest driver keeps per attached device: its stage-1 table, its CD and the ASID tagging it.</summary>
internal sealed class GuestDomain(uint sid, ushort asid, bool ats, AArch64PageTable pageTable, ulong cdIpa)
{
    public uint Sid { get; } = sid;

    public ushort Asid { get; } = asid;

    /// <summary>EATS = 1 in the STE: the device caches translations in its ATC, so unmaps also send ATC_INV.</summary>
    public bool Ats { get; } = ats;

    public AArch64PageTable PageTable { get; } = pageTable;

    /// <summary>
    /// Guards <see cref="PageTable"/>'s entries and the tables it allocates: map and unmap of one domain are
    /// serialised, other domains and every invalidation run without it (Linux's io-pgtable works per domain too).
    /// </summary>
    public Lock PageTableLock { get; } = new();

    public ulong CdIpa { get; } = cdIpa;
}
