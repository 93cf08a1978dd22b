using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// An implementation extension of one SMMUv3 (the kernel's <c>arm_smmu_impl_ops</c>), such as the Tegra241
/// CMDQV: extra hw-info and vIOMMU types, and secondary command queues for host invalidations.
/// </summary>
internal interface ISmmuV3Implementation
{
    /// <summary>GET_HW_INFO for a type the SMMU itself does not report; EOPNOTSUPP when unknown.</summary>
    Errno GetHwInfo(IommuHwInfoType type, Span<byte> data, out HwInfoResult result);

    /// <summary>True for vIOMMU types the implementation provides.</summary>
    bool SupportsViommu(IommuViommuType type);

    /// <summary>Builds a vIOMMU of an implementation type on top of the SMMUv3 vIOMMU core.</summary>
    Errno InitViommu(SmmuV3Viommu core, IommuViommuType type, UserData data, out IViommu viommu);

    /// <summary>
    /// A queue for host commands other than the main queue, or null. When the queue has a
    /// <see cref="HostCommandQueue.Supports"/> filter, the SMMU checks every command of a batch against it and falls
    /// back to the main queue for what it cannot take.
    /// </summary>
    HostCommandQueue? GetSecondaryQueue();

    /// <summary>Called when a device is probed behind the SMMU.</summary>
    void ProbeDevice(EndpointDevice device)
    {
    }
}

/// <summary>Creates the implementation extension for an SMMU, or null when it has none.</summary>
internal interface ISmmuV3ImplementationFactory
{
    ISmmuV3Implementation? Create(SmmuV3Host host);
}
