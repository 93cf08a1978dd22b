namespace Iommufd.Native;

/// <summary>What the preload shim told the library at start-up: how to tell it about fds the library creates.</summary>
internal static unsafe class Shim
{
    private static delegate* unmanaged<int, void> s_registerEventFd;

    public static void Initialize(delegate* unmanaged<int, void> registerEventFd) => s_registerEventFd = registerEventFd;

    /// <summary>Tells the shim that <paramref name="fd"/> is an event fd whose read/write/close come here.</summary>
    public static void RegisterEventFd(int fd)
    {
        var register = s_registerEventFd;
        if (register is not null)
        {
            register(fd);
        }
    }
}
