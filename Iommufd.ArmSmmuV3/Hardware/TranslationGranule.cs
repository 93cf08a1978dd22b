namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>An AArch64 translation granule; the value is the page shift.</summary>
public enum TranslationGranule
{
    Size4K = 12,
    Size16K = 14,
    Size64K = 16,
}
