namespace Iommufd.Core.Uapi;

/// <summary>
/// The <c>flags</c> of <see cref="IommuHwptInvalidateSelftest"/> and <see cref="IommuViommuInvalidateSelftest"/>
/// (selftest header iommufd_test.h).
/// </summary>
[Flags]
public enum IommuTestInvalidateFlags : uint
{
    /// <summary>No flag: invalidate the one entry the ID names.</summary>
    None = 0,

    /// <summary>IOMMU_TEST_INVALIDATE_FLAG_ALL: clear every slot; the slot index is ignored.</summary>
    All = 1 << 0,
}
