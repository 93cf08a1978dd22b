namespace Iommufd.Core.Uapi;

/// <summary>The <c>op</c> of IOMMU_TEST_CMD (the anonymous enum of IOMMU_TEST_OP_* in iommufd_test.h).</summary>
public enum IommuTestOp : uint
{
    /// <summary>IOMMU_TEST_OP_ADD_RESERVED: reserve an IOVA range of an IOAS.</summary>
    AddReserved = 1,

    /// <summary>IOMMU_TEST_OP_MOCK_DOMAIN: a new mock device, bound and attached to <c>id</c>.</summary>
    MockDomain,

    /// <summary>IOMMU_TEST_OP_MD_CHECK_MAP: every mock page of an IOVA range maps the pages under a user VA.</summary>
    MdCheckMap,

    /// <summary>IOMMU_TEST_OP_MD_CHECK_REFS: the pin count of each page under a user VA.</summary>
    MdCheckRefs,

    /// <summary>IOMMU_TEST_OP_CREATE_ACCESS: an in-kernel-style access object on an IOAS, returned as an fd.</summary>
    CreateAccess,

    /// <summary>IOMMU_TEST_OP_DESTROY_ACCESS_PAGES.</summary>
    DestroyAccessPages,

    /// <summary>IOMMU_TEST_OP_ACCESS_PAGES.</summary>
    AccessPages,

    /// <summary>IOMMU_TEST_OP_ACCESS_RW.</summary>
    AccessRw,

    /// <summary>IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT.</summary>
    SetTempMemoryLimit,

    /// <summary>IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: move a mock device to another page table.</summary>
    MockDomainReplace,

    /// <summary>IOMMU_TEST_OP_ACCESS_REPLACE_IOAS.</summary>
    AccessReplaceIoas,

    /// <summary>IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: MOCK_DOMAIN with device flags.</summary>
    MockDomainFlags,

    /// <summary>IOMMU_TEST_OP_DIRTY.</summary>
    Dirty,

    /// <summary>IOMMU_TEST_OP_MD_CHECK_IOTLB: one IOTLB slot of a mock nested domain.</summary>
    MdCheckIotlb,

    /// <summary>IOMMU_TEST_OP_TRIGGER_IOPF.</summary>
    TriggerIopf,

    /// <summary>IOMMU_TEST_OP_DEV_CHECK_CACHE: one cache slot of a mock device.</summary>
    DevCheckCache,

    /// <summary>IOMMU_TEST_OP_TRIGGER_VEVENT.</summary>
    TriggerVevent,

    /// <summary>IOMMU_TEST_OP_PASID_ATTACH.</summary>
    PasidAttach,

    /// <summary>IOMMU_TEST_OP_PASID_REPLACE.</summary>
    PasidReplace,

    /// <summary>IOMMU_TEST_OP_PASID_DETACH.</summary>
    PasidDetach,

    /// <summary>IOMMU_TEST_OP_PASID_CHECK_HWPT.</summary>
    PasidCheckHwpt,
}
