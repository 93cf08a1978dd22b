using System.Numerics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// The invalidation commands the guest driver builds for an unmap of 4 KiB pages (Arm IHI 0070 §4.4, §4.4.1.1, §4.5.1):
/// one TLBI_NH_VA per page, or range TLBIs of (NUM + 1) × 2^SCALE pages each, and the ATC_INV span covering a range.
/// </summary>
internal static class InvalidationCommands
{
    /// <summary>The guest's stage-1 tables use the 4 KiB granule.</summary>
    public const int PageShift = 12;

    /// <summary>
    /// Level hint for the page tables built by <see cref="ArmSmmuV3.Driver.AArch64PageTable"/>: only level-3 pages
    /// (no blocks), so the leaf entries are at level 3. A range TLBI needs a non-zero TTL when NUM = SCALE = 0, since
    /// all three at zero is a Reserved encoding (spec §4.4.1.1).
    /// </summary>
    private const byte LeafTtl = 3;

    /// <summary>The first range TLBI for <paramref name="pages"/> pages (<see cref="RangeInvalidation.NextRange"/>).</summary>
    public static (byte Num, byte Scale, ulong Pages) NextRange(ulong pages) => RangeInvalidation.NextRange(pages);

    /// <summary>How many range TLBIs cover <paramref name="pages"/> pages.</summary>
    public static int RangeCount(ulong pages)
    {
        int count = 0;
        while (pages != 0)
        {
            pages -= NextRange(pages).Pages;
            count++;
        }

        return count;
    }

    /// <summary>Writes the range TLBIs for [<paramref name="va"/>, + pages × 4 KiB); returns how many.</summary>
    public static int WriteRange(Span<SmmuCommand> destination, ushort asid, ulong va, ulong pages)
    {
        int count = 0;
        while (pages != 0)
        {
            var (num, scale, covered) = NextRange(pages);
            destination[count++] = SmmuCommandBuilder.TlbiNhVa(0, asid, va, leaf: true, LeafTtl, SmmuCommand.TG_4K, num, scale);
            va += covered << PageShift;
            pages -= covered;
        }

        return count;
    }

    /// <summary>Writes one TLBI_NH_VA (TG = 0: no range, no level hint) per page; returns how many.</summary>
    public static int WritePerPage(Span<SmmuCommand> destination, ushort asid, ulong va, ulong pages)
    {
        for (int i = 0; i < (int)pages; i++)
        {
            destination[i] = SmmuCommandBuilder.TlbiNhVa(0, asid, va + ((ulong)i << PageShift), leaf: true, 0, SmmuCommand.TG_ANY, 0, 0);
        }

        return (int)pages;
    }

    /// <summary>
    /// ATC_INV for [<paramref name="va"/>, + <paramref name="length"/>): the span is 4 KiB × 2^Size, aligned to its
    /// size, so it is the smallest aligned power-of-two block of pages holding the first and last page (Size 52:
    /// everything).
    /// </summary>
    public static SmmuCommand AtcInvalidate(uint sid, ulong va, ulong length)
    {
        ulong first = va >> PageShift;
        ulong last = (va + length - 1) >> PageShift;
        int size = 64 - BitOperations.LeadingZeroCount(first ^ last); // bits in which the two pages differ
        if (size >= 52)
        {
            return AtcInvalidateAll(sid);
        }

        ulong start = (first >> size) << size;
        return SmmuCommandBuilder.AtcInv(sid, 0, ssv: false, global: false, start << PageShift, (byte)size);
    }

    /// <summary>ATC_INV of every address (Size 52).</summary>
    public static SmmuCommand AtcInvalidateAll(uint sid) => SmmuCommandBuilder.AtcInv(sid, 0, ssv: false, global: false, 0, 52);
}
