namespace Iommufd.Native;

/// <summary>What the preload shim told the library at start-up: its callbacks into its fd table.</summary>
internal static unsafe class Shim
{
    private static delegate* unmanaged<int, void> s_registerEventFd;
    private static delegate* unmanaged<int, int> s_getIommufd;
    private static delegate* unmanaged<int, void> s_putIommufd;

    public static void Initialize(delegate* unmanaged<int, void> registerEventFd, delegate* unmanaged<int, int> getIommufd, delegate* unmanaged<int, void> putIommufd)
    {
        s_registerEventFd = registerEventFd;
        s_getIommufd = getIommufd;
        s_putIommufd = putIommufd;
    }

    /// <summary>Tells the shim that <paramref name="fd"/> is an event fd whose read/write/close come here.</summary>
    public static void RegisterEventFd(int fd)
    {
        var register = s_registerEventFd;
        if (register is not null)
        {
            register(fd);
        }
    }

    /// <summary>
    /// The handle of the /dev/iommu file open as <paramref name="fd"/>, with a reference that keeps it open; a
    /// negative errno (EBADF: no such fd, EBADFD: not /dev/iommu) otherwise.
    /// </summary>
    public static int GetIommufd(int fd)
    {
        var get = s_getIommufd;
        return get is null ? -(int)Core.Errno.EBADF : get(fd);
    }

    /// <summary>Drops a reference <see cref="GetIommufd"/> took; the last one closes the file.</summary>
    public static void PutIommufd(int handle)
    {
        var put = s_putIommufd;
        if (put is not null)
        {
            put(handle);
        }
    }
}
