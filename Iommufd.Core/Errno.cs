namespace Iommufd.Core;

/// <summary>
/// Linux errno values as the iommufd ioctl boundary returns them (positive, as in <c>errno</c> after the
/// ioctl returned -1). <see cref="Success"/> is the 0 a successful ioctl returns.
/// </summary>
/// <remarks>Values are the asm-generic ones used by arm64 and x86-64 Linux.</remarks>
public enum Errno
{
    /// <summary>The ioctl succeeded.</summary>
    Success = 0,
    /// <summary>
    /// Operation not permitted: the caller lacks a privilege (IOMMU_OPTION_RLIMIT_MODE without CAP_SYS_RESOURCE).
    /// </summary>
    EPERM = 1,
    /// <summary>No such entry: an ID or an IOVA the call names does not exist.</summary>
    ENOENT = 2,
    /// <summary>I/O error.</summary>
    EIO = 5,
    /// <summary>No such device or address: no mmap region at that offset.</summary>
    ENXIO = 6,
    /// <summary>The struct has non-zero bytes past the fields this version knows.</summary>
    E2BIG = 7,
    /// <summary>Bad file descriptor.</summary>
    EBADF = 9,
    /// <summary>Try again: nothing to read yet on a non-blocking fd.</summary>
    EAGAIN = 11,
    /// <summary>Out of memory, or a limit on pinned or allocated memory was reached.</summary>
    ENOMEM = 12,
    /// <summary>Bad address: a user pointer the call follows cannot be read or written.</summary>
    EFAULT = 14,
    /// <summary>The object is in use (an attached device, a live mapping, an object that holds a reference).</summary>
    EBUSY = 16,
    /// <summary>The object, ID or range already exists.</summary>
    EEXIST = 17,
    /// <summary>No such device, or the device lacks the feature asked for.</summary>
    ENODEV = 19,
    /// <summary>The call was understood, but a field has a wrong value.</summary>
    EINVAL = 22,
    /// <summary>The ioctl number is not supported.</summary>
    ENOTTY = 25,
    /// <summary>File too large: a memfd grown past the size the emulation holds.</summary>
    EFBIG = 27,
    /// <summary>No space left: every slot of a fixed-size table is in use.</summary>
    ENOSPC = 28,
    /// <summary>Illegal seek: an event or fault fd read or written at a position its records do not start at.</summary>
    ESPIPE = 29,
    /// <summary>A value is outside the range the hardware or the call allows.</summary>
    ERANGE = 34,
    /// <summary>
    /// The operation cannot finish: in-kernel accesses pinning the range did not let go (IOAS unmap).
    /// </summary>
    EDEADLK = 35,
    /// <summary>Invalid exchange: a selftest check found another page than the one it was told to expect.</summary>
    EBADE = 52,
    /// <summary>Arithmetic on the given values overflowed (an IOVA plus a length past 2^64).</summary>
    EOVERFLOW = 75,
    /// <summary>The fd is valid but not of the kind the call needs.</summary>
    EBADFD = 77,
    /// <summary>The output array is too small; the count field says how many entries are needed.</summary>
    EMSGSIZE = 90,
    /// <summary>
    /// The struct is understood, but a known field has a value the kernel or the driver does not support.
    /// </summary>
    EOPNOTSUPP = 95,
    /// <summary>An IOVA range the call needs is already mapped or reserved.</summary>
    EADDRINUSE = 98,
    /// <summary>The hardware did not answer in time (a command queue's CMD_SYNC that never completed).</summary>
    ETIMEDOUT = 110,
}
