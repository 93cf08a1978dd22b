using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Diagnostics;

/// <summary>
/// One STE in the SMMU's configuration cache (Arm IHI 0070 §4.3.1): the copy the SMMU uses until a CFGI_STE or
/// CFGI_STE_RANGE removes it, which may differ from the stream table in memory.
/// </summary>
/// <param name="StreamId">The StreamID the STE was fetched for.</param>
/// <param name="Ste">The cached STE.</param>
public readonly record struct CachedSte(uint StreamId, StreamTableEntry Ste);
