namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>An AArch64 translation granule; the value is the page shift.</summary>
public enum TranslationGranule
{
    /// <summary>The 4KB granule (TG0 = 0, S2TG = 0; page shift 12).</summary>
    Size4K = 12,
    /// <summary>The 16KB granule (TG0 = 2, S2TG = 2; page shift 14).</summary>
    Size16K = 14,
    /// <summary>The 64KB granule (TG0 = 1, S2TG = 1; page shift 16).</summary>
    Size64K = 16,
}
