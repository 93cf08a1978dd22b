namespace Iommufd.Core.Devices;

/// <summary>
/// The calling process's fd table as a VFIO device node sees it: VFIO_DEVICE_BIND_IOMMUFD names the iommufd by fd.
/// </summary>
public interface IIommufdFdTable
{
    /// <summary>
    /// fget of <paramref name="fd"/> as iommufd_ctx_from_fd (drivers/iommu/iommufd/main.c) does it: EBADF when no
    /// such fd is open, EBADFD when it is open but not /dev/iommu. On success the file stays open (its context
    /// referenced) until <see cref="Release"/>, even when the program closes the fd.
    /// </summary>
    Errno Acquire(int fd, out IommufdFile file);

    /// <summary>iommufd_ctx_put: drops the reference <see cref="Acquire"/> took.</summary>
    void Release(IommufdFile file);
}
