using Iommufd.Core.Uapi;

namespace Iommufd.Core.Driver;

/// <summary>What a driver reports for IOMMU_GET_HW_INFO besides the info struct's bytes.</summary>
public readonly record struct HwInfoResult(
    IommuHwInfoType Type,
    int Length,
    IommuHwCapabilities Capabilities = 0,
    byte MaxPasidLog2 = 0);
