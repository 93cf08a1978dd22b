namespace Iommufd.Core;

/// <summary>
/// Linux errno values as the iommufd ioctl boundary returns them (positive, as in <c>errno</c> after the
/// ioctl returned -1). <see cref="Success"/> is the 0 a successful ioctl returns.
/// </summary>
/// <remarks>Values are the asm-generic ones used by arm64 and x86-64 Linux.</remarks>
public enum Errno
{
    Success = 0,
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    EINVAL = 22,
    ENOTTY = 25,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    ERANGE = 34,
    EDEADLK = 35,
    EBADE = 52,
    EOVERFLOW = 75,
    EBADFD = 77,
    EMSGSIZE = 90,
    EOPNOTSUPP = 95,
    EADDRINUSE = 98,
    ETIMEDOUT = 110,
}
