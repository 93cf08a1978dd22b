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
}
