namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>Bit positions of VMSAv8-64 translation table descriptors (Arm ARM D8.3), as SMMUv3 walks them.</summary>
internal static class Descriptor
{
    public const ulong Valid = 1UL << 0;

    /// <summary>At levels 0–2: 1 = table, 0 = block. At level 3: must be 1 (page).</summary>
    public const ulong TableOrPage = 1UL << 1;

    /// <summary>Stage 1 AP[1] (bit 6): accessible from EL0 / unprivileged.</summary>
    public const ulong S1ApUnprivileged = 1UL << 6;

    /// <summary>Stage 1 AP[2] (bit 7): read-only.</summary>
    public const ulong S1ApReadOnly = 1UL << 7;

    /// <summary>Stage 2 S2AP[0] (bit 6): reads allowed.</summary>
    public const ulong S2ApRead = 1UL << 6;

    /// <summary>Stage 2 S2AP[1] (bit 7): writes allowed.</summary>
    public const ulong S2ApWrite = 1UL << 7;

    /// <summary>Inner shareable, SH [9:8] = 0b11.</summary>
    public const ulong ShareableInner = 3UL << 8;

    /// <summary>Access flag (bit 10).</summary>
    public const ulong AccessFlag = 1UL << 10;

    /// <summary>Stage 1 nG (bit 11): the entry is tagged with the ASID.</summary>
    public const ulong NotGlobal = 1UL << 11;

    /// <summary>Stage 2 MemAttr [5:2] = 0b1111: normal, write-back.</summary>
    public const ulong S2MemAttrNormalWb = 0xFUL << 2;

    /// <summary>Output address bits [47:12] for a 4K page (the granule's own low bits are masked further).</summary>
    public const ulong OutputAddressMask = 0x0000_FFFF_FFFF_F000;

    /// <summary>The next-level table address or output address of <paramref name="descriptor"/>.</summary>
    public static ulong Address(ulong descriptor, int alignShift) =>
        descriptor & OutputAddressMask & ~((1UL << alignShift) - 1);
}
