namespace Iommufd.Core.Objects;

/// <summary>The kinds of object an iommufd file holds (the kernel's <c>enum iommufd_object_type</c>).</summary>
public enum IommufdObjectType
{
    /// <summary>IOMMUFD_OBJ_IOAS: an I/O address space (IOMMU_IOAS_ALLOC).</summary>
    Ioas,
    /// <summary>IOMMUFD_OBJ_DEVICE: a device bound to the iommufd (VFIO_DEVICE_BIND_IOMMUFD).</summary>
    Device,
    /// <summary>IOMMUFD_OBJ_HWPT_PAGING: a kernel-managed page table holding an IOAS's mappings.</summary>
    HwptPaging,
    /// <summary>IOMMUFD_OBJ_HWPT_NESTED: a user-managed stage-1 table over a nest-parent paging HWPT.</summary>
    HwptNested,
    /// <summary>IOMMUFD_OBJ_VIOMMU: a virtual IOMMU instance (IOMMU_VIOMMU_ALLOC).</summary>
    Viommu,
    /// <summary>
    /// IOMMUFD_OBJ_VDEVICE: a device as a vIOMMU presents it, with its virtual ID (IOMMU_VDEVICE_ALLOC).
    /// </summary>
    Vdevice,
    /// <summary>IOMMUFD_OBJ_VEVENTQ: a queue of a vIOMMU's events read through an fd (IOMMU_VEVENTQ_ALLOC).</summary>
    Veventq,
    /// <summary>IOMMUFD_OBJ_HW_QUEUE: a hardware-accelerated queue of a vIOMMU (IOMMU_HW_QUEUE_ALLOC).</summary>
    HwQueue,
    /// <summary>IOMMUFD_OBJ_FAULT: an I/O page fault queue read through an fd (IOMMU_FAULT_QUEUE_ALLOC).</summary>
    Fault,

    /// <summary>IOMMUFD_OBJ_SELFTEST: a device IOMMU_TEST_CMD made.</summary>
    Selftest,
}
