namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>Which translation an IOTLB entry caches.</summary>
public enum TlbStage : byte
{
    /// <summary>Stage 1 only (stage 2 bypassed): VA → PA.</summary>
    Stage1,

    /// <summary>Stage 2 only (stage 1 bypassed): IPA → PA.</summary>
    Stage2,

    /// <summary>Both stages combined: VA → PA, through an IPA.</summary>
    Nested,
}
