using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>What the host driver learned from the ID registers (Arm IHI 0070 §6.3.1–§6.3.6; arm-smmu-v3.c
/// arm_smmu_device_hw_probe()).</summary>
public readonly record struct ProbedFeatures(
    bool Stage1,
    bool Stage2,
    bool Ats,
    bool Msi,
    bool Sev,
    bool Asid16,
    bool Vmid16,
    bool RangeInvalidation,
    bool Ds,
    bool TwoLevelStreamTable,
    int SidBits,
    int SsidBits,
    int CmdqLog2Size,
    int OutputAddressBits,
    int OasEncoding,
    int ArchMinorRevision)
{
    /// <summary>What a probe reads from an SMMU built with <paramref name="features"/>: the ID registers
    /// <see cref="SmmuV3Features"/> encodes, decoded as the driver decodes them.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="features"/> is null.</exception>
    public static ProbedFeatures From(SmmuV3Features features)
    {
        ArgumentNullException.ThrowIfNull(features);
        return FromIdRegisters(features.Idr0, features.Idr1, features.Idr3, features.Idr5, features.Aidr);
    }

    /// <summary>What the probe reads from a running SMMU's ID registers.</summary>
    internal static ProbedFeatures FromRegisters(SmmuV3 smmu)
    {
        ArgumentNullException.ThrowIfNull(smmu);
        return FromIdRegisters(
            (uint)smmu.ReadRegister((uint)SmmuRegister.IDR0),
            (uint)smmu.ReadRegister((uint)SmmuRegister.IDR1),
            (uint)smmu.ReadRegister((uint)SmmuRegister.IDR3),
            (uint)smmu.ReadRegister((uint)SmmuRegister.IDR5),
            (uint)smmu.ReadRegister((uint)SmmuRegister.AIDR));
    }

    private static ProbedFeatures FromIdRegisters(uint idr0, uint idr1, uint idr3, uint idr5, uint aidr)
    {
        int oas = (int)(idr5 & 7);
        return new ProbedFeatures(
            Stage1: (idr0 & 2) != 0,
            Stage2: (idr0 & 1) != 0,
            Ats: (idr0 & (1 << 10)) != 0,
            Msi: (idr0 & (1 << 13)) != 0,
            Sev: (idr0 & (1 << 14)) != 0,
            Asid16: (idr0 & (1 << 12)) != 0,
            Vmid16: (idr0 & (1 << 18)) != 0,
            RangeInvalidation: (idr3 & (1 << 10)) != 0,
            Ds: (idr5 & (1 << 7)) != 0,
            TwoLevelStreamTable: ((idr0 >> 27) & 3) == 1,
            SidBits: (int)(idr1 & 0x3F),
            SsidBits: (int)((idr1 >> 6) & 0x1F),
            CmdqLog2Size: (int)((idr1 >> 21) & 0x1F),
            OutputAddressBits: oas switch { 0 => 32, 1 => 36, 2 => 40, 3 => 42, 4 => 44, 5 => 48, _ => 52 },
            OasEncoding: oas,
            ArchMinorRevision: (int)(aidr & 0xF));
    }
}
