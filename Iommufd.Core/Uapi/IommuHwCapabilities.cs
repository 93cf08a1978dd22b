namespace Iommufd.Core.Uapi;

/// <summary>The <c>out_capabilities</c> of IOMMU_GET_HW_INFO (enum iommufd_hw_capabilities).</summary>
[Flags]
public enum IommuHwCapabilities : ulong
{
    /// <summary>No capability.</summary>
    None = 0,

    /// <summary>IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can track dirty pages.</summary>
    DirtyTracking = 1 << 0,

    /// <summary>IOMMU_HW_CAP_PCI_PASID_EXEC: the device supports PASID execute permission.</summary>
    PciPasidExec = 1 << 1,

    /// <summary>IOMMU_HW_CAP_PCI_PASID_PRIV: the device supports PASID privileged mode.</summary>
    PciPasidPriv = 1 << 2,
}
