namespace Iommufd.Guest;

/// <summary>
/// The ID registers as the guest driver probed them, with the fields it uses (Arm IHI 0070 §6.3.1–§6.3.6).
/// </summary>
public sealed record GuestSmmuCapabilities(uint Idr0, uint Idr1, uint Idr3, uint Idr5)
{
    /// <summary>IDR0.S2P.</summary>
    public bool Stage2 => (Idr0 & (1u << 0)) != 0;

    /// <summary>IDR0.S1P: the driver needs it (it builds stage-1 translations only).</summary>
    public bool Stage1 => (Idr0 & (1u << 1)) != 0;

    /// <summary>IDR0.TTF [3:2]: bit 3 set means AArch64 tables.</summary>
    public bool AArch64Tables => (Idr0 & (1u << 3)) != 0;

    /// <summary>IDR0.HYP.</summary>
    public bool Hyp => (Idr0 & (1u << 9)) != 0;

    /// <summary>IDR0.ATS.</summary>
    public bool Ats => (Idr0 & (1u << 10)) != 0;

    /// <summary>IDR0.ASID16: 16-bit ASIDs, else 8.</summary>
    public bool Asid16 => (Idr0 & (1u << 12)) != 0;

    /// <summary>IDR0.MSI.</summary>
    public bool Msi => (Idr0 & (1u << 13)) != 0;

    /// <summary>IDR0.SEV.</summary>
    public bool Sev => (Idr0 & (1u << 14)) != 0;

    /// <summary>IDR1.SIDSIZE [5:0].</summary>
    public int SidBits => (int)(Idr1 & 0x3F);

    /// <summary>IDR1.SSIDSIZE [10:6].</summary>
    public int SsidBits => (int)((Idr1 >> 6) & 0x1F);

    /// <summary>IDR1.EVENTQS [20:16]: log2 of the largest event queue.</summary>
    public int EventQueueLog2Max => (int)((Idr1 >> 16) & 0x1F);

    /// <summary>IDR1.CMDQS [25:21]: log2 of the largest command queue.</summary>
    public int CommandQueueLog2Max => (int)((Idr1 >> 21) & 0x1F);

    /// <summary>IDR1.QUEUES_PRESET or TABLES_PRESET: fixed bases this driver does not handle.</summary>
    public bool Preset => (Idr1 & (3u << 29)) != 0;

    /// <summary>IDR3.RIL: range invalidation (TLBI TG/NUM/SCALE).</summary>
    public bool RangeInvalidation => (Idr3 & (1u << 10)) != 0;

    /// <summary>IDR5.OAS [2:0], the encoding a CD's IPS takes.</summary>
    public int Oas => (int)(Idr5 & 0x7);

    /// <summary>IDR5.OAS in bits.</summary>
    public int OutputAddressBits => Oas switch { 0 => 32, 1 => 36, 2 => 40, 3 => 42, 4 => 44, 5 => 48, 6 => 52, _ => 56 };

    /// <summary>IDR5.GRAN4K.</summary>
    public bool Granule4K => (Idr5 & (1u << 4)) != 0;
}
