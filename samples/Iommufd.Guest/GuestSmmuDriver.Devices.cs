using System.Buffers;
using System.Diagnostics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Guest;

// Devices: STEs and CDs (Arm IHI 0070 §5.2, §5.4), stage-1 tables, and the invalidation an unmap needs before it
// returns.
public sealed partial class GuestSmmuDriver
{
    /// <summary>STE Config = 0b101: stage-1 translate, stage-2 bypass.</summary>
    private const ulong SteConfigS1Translate = 0b101;

    /// <summary>S1ContextPtr [51:6].</summary>
    private const ulong SteContextPtrMask = 0x000F_FFFF_FFFF_FFC0;

    /// <summary>TTB0 [51:4] of CD word 1.</summary>
    private const ulong CdTtb0Mask = 0x000F_FFFF_FFFF_FFF0;

    /// <summary>
    /// MAIR0, attribute 0 = 0xFF (Normal, Write-Back read/write-allocate): the stage-1 pages built by
    /// <see cref="AArch64PageTable"/> use AttrIndx 0.
    /// </summary>
    private const ulong CdMair = 0xFF;

    /// <summary>The guest's stage-1 layout: 4K granule, T0SZ = 16 (48-bit VA), walk from level 0.</summary>
    private static readonly TableFormat Stage1Format = TableFormat.ForInputBits(TranslationGranule.Size4K, 48);

    /// <summary>V = 1, Config = abort: transactions are refused without an event.</summary>
    private static readonly StreamTableEntry AbortSte = new(1, 0, 0, 0);

    private readonly Lock _domainsLock = new(); // guards _domains (never held while waiting for the SMMU)
    private readonly Dictionary<uint, GuestDomain> _domains = [];

    /// <summary>True when <paramref name="sid"/> is attached to a stage-1 table by this driver.</summary>
    public bool IsAttached(uint sid)
    {
        lock (_domainsLock)
        {
            return _domains.ContainsKey(sid);
        }
    }

    /// <summary>
    /// The stage-1 table of an attached device, for tools and tests that need to look at (or tamper with) the PTEs.
    /// Changing it by hand skips the invalidation <see cref="Unmap(uint, ulong, ulong)"/> does.
    /// </summary>
    public AArch64PageTable? GetPageTable(uint sid)
    {
        lock (_domainsLock)
        {
            return _domains.GetValueOrDefault(sid)?.PageTable;
        }
    }

    /// <summary>
    /// Attaches StreamID <paramref name="sid"/> to a new, empty stage-1 table tagged with <paramref name="asid"/>: a
    /// CD (T0SZ 16, 4K, WB/ISH walks, AA64, R, A) and an S1-translate STE pointing at it, then CFGI_STE and CMD_SYNC.
    /// With <paramref name="ats"/> the STE sets EATS = 1, so the device may cache translations in its ATC. With
    /// <paramref name="substreamBits"/> the CD is the first of a linear table of 2^bits CDs (S1CDMax) for
    /// <see cref="AttachPasid"/>, and S1DSS = 0b10 keeps CD 0 for traffic without a PASID (arm-smmu-v3.c
    /// arm_smmu_make_cdtable_ste with STRTAB_STE_1_S1DSS_SSID0), so PASID 0 is never usable.
    /// </summary>
    /// <returns>True when the CMD_SYNC after CFGI_STE completed.</returns>
    public bool AttachDevice(uint sid, ushort asid, bool ats = false, int substreamBits = 0)
    {
        CheckSid(sid);
        if (substreamBits < 0 || substreamBits > Math.Min(Capabilities.SsidBits, MaxLinearCdTableBits))
        {
            throw new ArgumentOutOfRangeException(nameof(substreamBits), substreamBits, $"at most IDR1.SSIDSIZE ({Capabilities.SsidBits}) and {MaxLinearCdTableBits} (a linear CD table; this driver builds no two-level one)");
        }

        if (!Capabilities.Asid16 && asid > byte.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(asid), asid, "the SMMU has 8-bit ASIDs (IDR0.ASID16 = 0)");
        }

        if (ats && !Capabilities.Ats)
        {
            throw new NotSupportedException("the SMMU has no ATS (IDR0.ATS = 0)");
        }

        if (IsAttached(sid))
        {
            throw new InvalidOperationException($"StreamID {sid} is already attached; detach it first");
        }

        var table = new AArch64PageTable(_memory, Stage1Format, stage2: false);
        ulong cdTableSize = (ulong)ContextDescriptor.Size << substreamBits;
        ulong cdIpa = _memory.Allocate(cdTableSize, cdTableSize); // aligned to its size (§5.2 S1Fmt 0b00)
        lock (_domainsLock)
        {
            if (!_domains.TryAdd(sid, new GuestDomain(sid, asid, ats, table, cdIpa, substreamBits)))
            {
                throw new InvalidOperationException($"StreamID {sid} is already attached; detach it first");
            }
        }

        WriteCd(cdIpa, asid, table);

        // STE (spec §5.2): only fields a nesting host accepts from a guest STE are set (arm-smmu-v3-iommufd.c
        // arm_smmu_validate_vste()), so a VMM may forward these words unchanged. Word 0: S1Fmt = 0 (linear),
        // S1CDMax. Word 1: S1DSS (0b10 with substreams), S1CIR = S1COR = WB-RA (1), S1CSH = ISH (3), EATS.
        ulong ste0 = 1UL | (SteConfigS1Translate << 1) | (cdIpa & SteContextPtrMask) | ((ulong)substreamBits << 59);
        ulong ste1 = (substreamBits != 0 ? 2UL : 0) | (1UL << 2) | (1UL << 4) | (3UL << 6) | ((ats ? 1UL : 0) << 28);
        WriteSte(sid, new StreamTableEntry(ste0, ste1, 0, 0));

        // The SMMU may hold the old (abort) STE in its configuration cache until told (spec §4.3.1).
        return CommandPath.Submit([SmmuCommandBuilder.CfgiSte(sid, leaf: true)]);
    }

    /// <summary>
    /// Detaches <paramref name="sid"/>: abort STE, CFGI_STE and CMD_SYNC; then the ASID's TLB entries (and, for an
    /// ATS device, its whole ATC) are invalidated, as a domain being freed needs.
    /// </summary>
    /// <returns>True when every CMD_SYNC completed; false when the device was not attached or a sync timed out.</returns>
    public bool DetachDevice(uint sid)
    {
        GuestDomain? domain;
        lock (_domainsLock)
        {
            if (!_domains.Remove(sid, out domain))
            {
                return false;
            }
        }

        WriteSte(sid, AbortSte);
        bool ok = CommandPath.Submit([SmmuCommandBuilder.CfgiSte(sid, leaf: true)]);

        // The STE no longer points at the tables, so nothing new is cached; what is cached goes now.
        ok &= CommandPath.Submit([SmmuCommandBuilder.TlbiNhAsid(0, domain.Asid)]);
        ushort[] pasidAsids;
        lock (domain.PageTableLock)
        {
            pasidAsids = [.. domain.Pasids.Values.Select(p => p.Asid)];
        }

        // Submitted after the lock is let go: the page-table lock is never held while waiting for a CMD_SYNC.
        foreach (ushort asid in pasidAsids)
        {
            ok &= CommandPath.Submit([SmmuCommandBuilder.TlbiNhAsid(0, asid)]);
        }

        if (domain.Ats)
        {
            ok &= CommandPath.Submit([InvalidationCommands.AtcInvalidateAll(sid)]);
        }

        return ok;
    }

    /// <summary>
    /// Maps [<paramref name="va"/>, + <paramref name="length"/>) of <paramref name="sid"/>'s stage-1 table to
    /// [<paramref name="ipa"/>, + length). No invalidation is needed: invalid entries are never cached.
    /// </summary>
    public void Map(uint sid, ulong va, ulong ipa, ulong length, IommuProtection protection)
    {
        var domain = Domain(sid);
        CheckRange(va, length);
        lock (domain.PageTableLock)
        {
            domain.PageTable.Map(va, ipa, length, protection);
        }
    }

    /// <summary>
    /// Unmaps [<paramref name="va"/>, + <paramref name="length"/>): clears the PTEs, then TLBI_NH_VA per page (or
    /// range TLBIs with IDR3.RIL) and CMD_SYNC, then for an ATS device ATC_INV and CMD_SYNC. Returns only when the
    /// syncs completed, so the caller may reuse the pages.
    /// </summary>
    /// <returns>True when every CMD_SYNC completed.</returns>
    public bool Unmap(uint sid, ulong va, ulong length) => Unmap(sid, va, length, out _);

    /// <summary>
    /// <see cref="Unmap(uint, ulong, ulong)"/>, also telling how long the invalidation took: from the first TLBI
    /// written to the last CMD_SYNC seen complete, in <see cref="Stopwatch"/> ticks. The PTE clear is not in it, and
    /// no lock but the command queue's is held in it, so concurrent unmaps of other domains overlap.
    /// </summary>
    /// <returns>True when every CMD_SYNC completed.</returns>
    public bool Unmap(uint sid, ulong va, ulong length, out long invalidationTicks)
    {
        var domain = Domain(sid);
        CheckRange(va, length);
        lock (domain.PageTableLock)
        {
            domain.PageTable.Unmap(va, length);
        }

        long start = Stopwatch.GetTimestamp();
        bool ok = Invalidate(domain, va, length);
        invalidationTicks = Stopwatch.GetTimestamp() - start;
        return ok;
    }

    /// <summary>
    /// The IOTLB first, synced, and only then the ATC: a device could otherwise refill its ATC from an IOTLB entry
    /// that is about to go (Linux orders them the same way).
    /// </summary>
    private bool Invalidate(GuestDomain domain, ulong va, ulong length)
    {
        ulong pages = length >> InvalidationCommands.PageShift;
        bool range = UsesRangeInvalidation;
        int count = range ? InvalidationCommands.RangeCount(pages) : checked((int)pages);
        var commands = ArrayPool<SmmuCommand>.Shared.Rent(count);
        bool ok;
        try
        {
            int written = range
                ? InvalidationCommands.WriteRange(commands, domain.Asid, va, pages)
                : InvalidationCommands.WritePerPage(commands, domain.Asid, va, pages);
            ok = CommandPath.Submit(commands.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<SmmuCommand>.Shared.Return(commands);
        }

        if (domain.Ats)
        {
            ok &= CommandPath.Submit([InvalidationCommands.AtcInvalidate(domain.Sid, va, length)]);
        }

        return ok;
    }

    private GuestDomain Domain(uint sid)
    {
        lock (_domainsLock)
        {
            return _domains.GetValueOrDefault(sid) ?? throw new InvalidOperationException($"StreamID {sid} is not attached");
        }
    }

    private void CheckSid(uint sid)
    {
        if (sid >> StreamTableLog2Entries != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sid), sid, $"the stream table has {1UL << StreamTableLog2Entries} entries");
        }
    }

    private static void CheckRange(ulong va, ulong length)
    {
        const ulong pageMask = (1UL << InvalidationCommands.PageShift) - 1;
        if (length == 0 || ((va | length) & pageMask) != 0 || va + length - 1 < va || (va + length - 1) >> 48 != 0)
        {
            throw new ArgumentException($"[0x{va:x}, +0x{length:x}) is not a non-empty, page-aligned range of the 48-bit VA space");
        }
    }

    /// <summary>
    /// A CD (spec §5.4): T0SZ = 16, TG0 = 4K (0), IR0 = OR0 = WB-RA (1), SH0 = ISH (3), EPD1 (no TTB1, as
    /// arm-smmu-v3.c arm_smmu_make_s1_cd() sets it), V, IPS = the SMMU's OAS (at most 48 bits, what the 4K tables
    /// hold), AA64, R (record faults), A (abort faulting transactions), ASID.
    /// </summary>
    private void WriteCd(ulong cdIpa, ushort asid, AArch64PageTable table)
    {
        ulong ips = (ulong)Math.Min(Capabilities.Oas, 5);
        ulong cd0 = 16UL | (0UL << 6) | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 30) | (1UL << 31) | (ips << 32)
            | (1UL << 41) | (1UL << 45) | (1UL << 46) | ((ulong)asid << 48);
        WriteValidLast(cdIpa, ContextDescriptor.Size, cd0, table.Root & CdTtb0Mask, 0, CdMair);
    }

    /// <summary>Writes an STE with word 0 (which holds V and Config) last, so the SMMU never sees a half-written one.</summary>
    private void WriteSte(uint sid, in StreamTableEntry ste) =>
        WriteValidLast(StreamTableIpa + ((ulong)sid * StreamTableEntry.Size), StreamTableEntry.Size, ste.Word0, ste.Word1, ste.Word2, ste.Word3);

    /// <summary>Writes a 64-byte STE or CD: words 1–7 first (4–7 zero), word 0 with the valid bit last.</summary>
    private void WriteValidLast(ulong ipa, int size, ulong word0, ulong word1, ulong word2, ulong word3)
    {
        for (int w = size / 8 - 1; w >= 4; w--)
        {
            _memory.Write(ipa + ((ulong)w * 8), 0);
        }

        _memory.Write(ipa + 24, word3);
        _memory.Write(ipa + 16, word2);
        _memory.Write(ipa + 8, word1);
        _memory.Write(ipa, word0);
    }
}
