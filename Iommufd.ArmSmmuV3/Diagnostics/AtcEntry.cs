using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Diagnostics;

/// <summary>One translation an ATS endpoint holds in its address translation cache (PCIe ATS), as a snapshot.</summary>
/// <param name="SubstreamId">The PASID the translation was requested with; <see cref="NoSubstream"/> for none.</param>
/// <param name="Translation">The cached translation.</param>
public readonly record struct AtcEntry(uint SubstreamId, TlbEntry Translation)
{
    /// <summary>The <see cref="SubstreamId"/> of a translation requested without a PASID.</summary>
    public const uint NoSubstream = Atc.NoSubstream;

    /// <summary>True when the translation was requested with a PASID.</summary>
    public bool HasSubstream => SubstreamId != NoSubstream;
}
