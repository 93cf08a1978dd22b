using Iommufd.Core;
using Iommufd.Core.Devices;

namespace Iommufd.Tests.Support;

/// <summary>An fd table where one fd number, <paramref name="number"/>, is <paramref name="file"/> and every other is closed.</summary>
internal sealed class OneIommufdFd(IommufdFile file, int number = OneIommufdFd.DefaultNumber) : IIommufdFdTable
{
    /// <summary>The number tests bind with unless they say otherwise.</summary>
    public const int DefaultNumber = 3;

    public Errno Acquire(int fd, out IommufdFile acquired)
    {
        acquired = file;
        return fd == number ? Errno.Success : Errno.EBADF;
    }

    public void Release(IommufdFile released)
    {
    }
}
