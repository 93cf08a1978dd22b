namespace Iommufd.Core.Uapi;

/// <summary>
/// Constants of the mock (selftest) driver that userspace relies on, from the kernel's selftest header
/// iommufd_test.h (drivers/iommu/iommufd/iommufd_test.h).
/// </summary>
public static class SelftestConstants
{
    /// <summary>
    /// MOCK_NESTED_DOMAIN_IOTLB_ID_MAX: the highest valid <see cref="IommuHwptInvalidateSelftest.IotlbId"/>.
    /// </summary>
    public const uint MockNestedDomainIotlbIdMax = 3;

    /// <summary>MOCK_NESTED_DOMAIN_IOTLB_NUM: IOTLB slots in a mock nested domain.</summary>
    public const uint MockNestedDomainIotlbNum = 4;

    /// <summary>MOCK_DEV_CACHE_ID_MAX: the highest valid <see cref="IommuViommuInvalidateSelftest.CacheId"/>.</summary>
    public const uint MockDevCacheIdMax = 3;

    /// <summary>MOCK_DEV_CACHE_NUM: cache slots in a mock device.</summary>
    public const uint MockDevCacheNum = 4;

    /// <summary>IOMMU_TEST_IOTLB_DEFAULT: the IOTLB value the selftests allocate nested domains with.</summary>
    public const uint IotlbDefault = 0xbadbeef;

    /// <summary>IOMMU_TEST_DEV_CACHE_DEFAULT: the initial value of every mock device cache slot.</summary>
    public const uint DevCacheDefault = 0xbaddad;

    /// <summary>MOCK_APERTURE_START: the first IOVA a mock domain translates.</summary>
    public const ulong MockApertureStart = 1UL << 24;

    /// <summary>MOCK_APERTURE_LAST: the last IOVA a mock domain translates (inclusive).</summary>
    public const ulong MockApertureLast = (1UL << 31) - 1;

    /// <summary>MOCK_PASID_WIDTH: the PASID width in bits the mock device reports.</summary>
    public const uint MockPasidWidth = 20;

    /// <summary>
    /// IOMMU_TEST_PASID_RESERVED: the PASID whose replace the mock fails once with ENOMEM (selftest.c
    /// mock_domain_set_dev_pasid_nop()), so that a test can see a failed replace keep the old domain.
    /// </summary>
    public const uint PasidReserved = 1024;

    /// <summary>IOMMU_TEST_HW_QUEUE_MAX: the number of mock HW queues per vIOMMU.</summary>
    public const uint HwQueueMax = 2;

    /// <summary>The <see cref="IommuTestHwInfo.TestReg"/> value the mock reports.</summary>
    public const uint TestHwInfoReg = 0xdeadbeef;
}
