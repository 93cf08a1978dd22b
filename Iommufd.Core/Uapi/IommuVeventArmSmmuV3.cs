using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_vevent_arm_smmuv3, the payload of a vEVENTQ record of <see cref="IommuVeventqType.ArmSmmuV3"/>
/// (IOMMU_VEVENTQ_ALLOC, 0x93).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuVeventArmSmmuV3
{
    /// <summary>One SMMUv3 event record (evt[4]), little-endian, with the StreamID replaced by the vSID.</summary>
    public UInt64x4 Evt;
}
