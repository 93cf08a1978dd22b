using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_selftest, the driver data of IOMMU_HWPT_ALLOC (0x89) for <see cref="IommuHwptDataType.Selftest"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptSelftest
{
    /// <summary>Initial value of every IOTLB slot of the mock nested domain.</summary>
    public uint Iotlb;
}
