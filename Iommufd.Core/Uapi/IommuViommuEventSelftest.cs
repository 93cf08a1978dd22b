using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_viommu_event_selftest, the payload of a vEVENTQ record of <see cref="IommuVeventqType.Selftest"/>
/// (IOMMU_VEVENTQ_ALLOC, 0x93).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuViommuEventSelftest
{
    /// <summary>The virtual ID of the device that raised the event.</summary>
    public uint VirtId;
}
