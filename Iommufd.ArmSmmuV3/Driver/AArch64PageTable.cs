using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// Software side of a VMSAv8-64 translation table (stage 1 or stage 2): maps and unmaps pages of the table's
/// granule. The host driver builds its stage-2 tables with it; a guest driver model builds stage-1 tables in guest
/// RAM the same way.
/// </summary>
/// <remarks>Pages only (no block mappings) and no table freeing on unmap: simple and enough for an emulator.</remarks>
public sealed class AArch64PageTable
{
    private readonly ITableStore _store;
    private readonly Lock _lock = new(); // serialises Map and Unmap (table allocation, descriptor writes); TryTranslate walks without it

    /// <summary>Creates an empty table tree in <paramref name="store"/>: allocates the start-level table of <paramref name="format"/>; <paramref name="stage2"/> selects the stage-2 descriptor attributes (S2AP, MemAttr) over the stage-1 ones (AP, nG).</summary>
    public AArch64PageTable(ITableStore store, TableFormat format, bool stage2)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        Format = format;
        Stage2 = stage2;
        Root = store.AllocateTable(TableSize(format.StartLevel));
    }

    /// <summary>The granule, input size and start level of the tables.</summary>
    public TableFormat Format { get; }

    /// <summary>True for stage-2 tables (S2AP permissions), false for stage 1 (AP permissions, nG).</summary>
    public bool Stage2 { get; }

    /// <summary>Address of the start-level table (TTB0 / S2TTB).</summary>
    public ulong Root { get; }

    /// <summary>The granule's page size in bytes: the unit of <see cref="Map"/> and <see cref="Unmap"/>.</summary>
    public ulong PageSize => 1UL << Format.PageShift;

    /// <summary>Maps [input, +length) to [output, +length) with <paramref name="protection"/>; page aligned.</summary>
    public void Map(ulong input, ulong output, ulong length, IommuProtection protection, bool global = false)
    {
        ulong mask = PageSize - 1;
        if (((input | output | length) & mask) != 0)
        {
            throw new ArgumentException("input, output and length must be page aligned");
        }

        ulong leafBits = LeafAttributes(protection, global);
        lock (_lock)
        {
            for (ulong off = 0; off < length; off += PageSize)
            {
                ulong slot = LeafSlot(input + off, create: true);
                _store.Write(slot, ((output + off) & Descriptor.OutputAddressMask) | leafBits);
            }
        }
    }

    /// <summary>Unmaps [input, +length); pages that were not mapped are skipped.</summary>
    public void Unmap(ulong input, ulong length)
    {
        lock (_lock)
        {
            for (ulong off = 0; off < length; off += PageSize)
            {
                ulong slot = LeafSlot(input + off, create: false);
                if (slot != 0)
                {
                    _store.Write(slot, 0);
                }
            }
        }
    }

    /// <summary>A software walk: the output address and rights of <paramref name="input"/>, if mapped.</summary>
    public bool TryTranslate(ulong input, out ulong output, out IommuProtection protection)
    {
        output = 0;
        protection = IommuProtection.None;
        ulong slot = LeafSlot(input, create: false);
        if (slot == 0)
        {
            return false;
        }

        ulong pte = _store.Read(slot);
        if ((pte & Descriptor.Valid) == 0)
        {
            return false;
        }

        output = Descriptor.Address(pte, Format.PageShift) | (input & (PageSize - 1));
        protection = Stage2
            ? ((pte & Descriptor.S2ApRead) != 0 ? IommuProtection.Read : 0) | ((pte & Descriptor.S2ApWrite) != 0 ? IommuProtection.Write : 0)
            : IommuProtection.Read | ((pte & Descriptor.S1ApReadOnly) == 0 ? IommuProtection.Write : 0);
        return true;
    }

    private ulong LeafAttributes(IommuProtection protection, bool global)
    {
        ulong bits = Descriptor.Valid | Descriptor.TableOrPage | Descriptor.AccessFlag | Descriptor.ShareableInner;
        if (Stage2)
        {
            bits |= Descriptor.S2MemAttrNormalWb;
            bits |= (protection & IommuProtection.Read) != 0 ? Descriptor.S2ApRead : 0;
            bits |= (protection & IommuProtection.Write) != 0 ? Descriptor.S2ApWrite : 0;
        }
        else
        {
            bits |= Descriptor.S1ApUnprivileged;
            bits |= (protection & IommuProtection.Write) == 0 ? Descriptor.S1ApReadOnly : 0;
            bits |= global ? 0 : Descriptor.NotGlobal;
        }

        return bits;
    }

    /// <summary>The address of the level-3 slot for <paramref name="input"/>; 0 when a table is missing and not created.</summary>
    private ulong LeafSlot(ulong input, bool create)
    {
        ulong table = Root;
        for (int level = Format.StartLevel; level < 3; level++)
        {
            ulong slot = table + (Format.Index(input, level) * 8);
            ulong desc = _store.Read(slot);
            if ((desc & Descriptor.Valid) == 0)
            {
                if (!create)
                {
                    return 0;
                }

                ulong next = _store.AllocateTable(TableSize(level + 1));
                desc = next | Descriptor.Valid | Descriptor.TableOrPage;
                _store.Write(slot, desc);
            }

            table = Descriptor.Address(desc, Format.PageShift);
        }

        return table + (Format.Index(input, 3) * 8);
    }

    private int TableSize(int level)
    {
        int entryBits = level == Format.StartLevel
            ? Format.InputBits - Format.BlockShift(level)
            : Format.BitsPerLevel;
        // Tables are at least one granule, so a granule-aligned table address always works for the walker.
        return Math.Max(8 << entryBits, 1 << Format.PageShift);
    }
}
