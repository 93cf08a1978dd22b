using Iommufd.ArmSmmuV3.Driver;

namespace Iommufd.Guest;

/// <summary>What the guest driver keeps per attached device: its stage-1 table, its CD and the ASID tagging it.</summary>
internal sealed class GuestDomain(uint sid, ushort asid, bool ats, AArch64PageTable pageTable, ulong cdIpa, int substreamBits)
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

    /// <summary>The CD of substream 0 (with substreams: the start of the linear CD table).</summary>
    public ulong CdIpa { get; } = cdIpa;

    /// <summary>STE.S1CDMax: log2 of the CD table's size; 0 without substreams.</summary>
    public int SubstreamBits { get; } = substreamBits;

    /// <summary>The PASIDs attached, with their CD's ASID and table (guarded by <see cref="PageTableLock"/>).</summary>
    public Dictionary<uint, (ushort Asid, AArch64PageTable Table)> Pasids { get; } = [];
}
