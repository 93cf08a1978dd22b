using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Diagnostics;

/// <summary>
/// One context descriptor in the SMMU's configuration cache (Arm IHI 0070 §4.3.1): the copy the SMMU uses until a
/// CFGI_CD, CFGI_CD_ALL or a CFGI_STE of its stream removes it.
/// </summary>
/// <param name="StreamId">The StreamID whose STE led to the CD.</param>
/// <param name="SubstreamId">The SubstreamID the CD was fetched for (0 for a stream without substreams).</param>
/// <param name="Cd">The cached CD.</param>
public readonly record struct CachedCd(uint StreamId, uint SubstreamId, ContextDescriptor Cd);
