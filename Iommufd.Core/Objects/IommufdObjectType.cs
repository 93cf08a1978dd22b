namespace Iommufd.Core.Objects;

/// <summary>The kinds of object an iommufd file holds (the kernel's <c>enum iommufd_object_type</c>).</summary>
public enum IommufdObjectType
{
    Ioas,
    Device,
    HwptPaging,
    HwptNested,
    Viommu,
    Vdevice,
    Veventq,
    HwQueue,
    Fault,

    /// <summary>IOMMUFD_OBJ_SELFTEST: a device IOMMU_TEST_CMD made.</summary>
    Selftest,
}
