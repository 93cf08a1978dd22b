namespace Iommufd.Core.Driver;

/// <summary>
/// An in-kernel-style access to an IOAS, what IOMMU_TEST_OP_CREATE_ACCESS makes (the kernel's
/// <c>struct iommufd_access</c> from iommufd_access_create() and iommufd_access_attach()). Its fd holds it.
/// </summary>
public interface ISelftestAccess
{
    /// <summary>
    /// device.c iommufd_access_rw(): copies between <paramref name="data"/> and the IOAS at <paramref name="iova"/>
    /// through the pages behind it. Length 0 is EINVAL, a range that wraps EOVERFLOW, a write over an area mapped
    /// without WRITEABLE EPERM, a range not mapped without a gap ENOENT.
    /// </summary>
    Errno ReadWrite(ulong iova, Span<byte> data, bool write);

    /// <summary>Made with MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES: only such an access may pin (ACCESS_PAGES).</summary>
    bool NeedsPinPages { get; }

    /// <summary>
    /// device.c iommufd_access_pin_pages() as ACCESS_PAGES uses it, the pin recorded as an item: its ID and the
    /// physical address of each CPU page of the range. The errnos are those of
    /// <c>IoasObject.PinForAccess</c>; a closed access is ENOENT. An unmap that meets the item unpins it.
    /// </summary>
    Errno PinPages(ulong iova, ulong length, bool write, out uint id, out ulong[] pages);

    /// <summary>DESTROY_ACCESS_PAGES (selftest.c iommufd_test_access_item_destroy()): unpins an item; an unknown ID is ENOENT.</summary>
    Errno UnpinPages(uint id);
}
