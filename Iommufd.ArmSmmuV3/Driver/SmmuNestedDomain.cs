using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// A nested domain from a guest STE (words 0 and 1, already validated): abort, bypass (stage 2 only) or the
/// guest's stage 1 on top of the vIOMMU's stage-2 parent (arm-smmu-v3-iommufd.c arm_vsmmu_alloc_domain_nested()).
/// </summary>
internal sealed class SmmuNestedDomain(SmmuV3Viommu viommu, ulong ste0, ulong ste1, bool enableAts) : INestedDomain
{
    public SmmuV3Viommu Viommu { get; } = viommu;

    IViommu? INestedDomain.Viommu => Viommu;

    public IIommuInstance Iommu => Viommu.Host;

    /// <summary>The validated guest STE words (EATS already removed from word 1).</summary>
    public ulong Ste0 { get; } = ste0;

    public ulong Ste1 { get; } = ste1;

    public ulong GuestConfig => (Ste0 & 1) == 0 ? StreamTableEntry.ConfigAbort : (Ste0 >> 1) & 7;

    public bool IsStage1 => GuestConfig == StreamTableEntry.ConfigS1Translate;

    public StreamTableEntry MakeSte(bool ats)
    {
        switch (GuestConfig)
        {
            case StreamTableEntry.ConfigS1Translate:
                // The parent's S2 STE with the guest's stage-1 words merged in and MEV set
                // (arm-smmu-v3-iommufd.c arm_smmu_make_nested_cd_table_ste()): SHCFG and EATS come from the S2 STE.
                var s2 = Viommu.Parent.MakeSte(ats && enableAts);
                ulong w0 = (Ste0 & ~0xEUL) | 1 | (StreamTableEntry.ConfigNested << 1);
                ulong w1 = s2.Word1 | Ste1 | (1UL << 19) /* MEV */;
                return new StreamTableEntry(w0, w1, s2.Word2, s2.Word3);
            case StreamTableEntry.ConfigBypass:
                return Viommu.Parent.MakeSte(ats: false);
            default:
                return SmmuV3Host.AbortSte; // V = 0 or Config = abort: the guest sees its device blocked
        }
    }

    public void Free()
    {
    }
}
