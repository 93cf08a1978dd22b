using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Interop;
using Iommufd.Core.Memory;

namespace Iommufd.Native;

/// <summary>
/// The open <c>/dev/iommu</c> files and <c>/dev/vfio/devices/vfioN</c> device files of the process (by handle,
/// one numbering for both) and the real eventfds handed out for vEVENTQs and fault queues (by fd number). An event fd is readable (its eventfd counter is non-zero) while
/// its queue holds a record, so poll, epoll and select work on it unchanged.
/// </summary>
/// <remarks>
/// An event fd is known by the number the program first got (the number in <c>out_veventq_fd</c>); the library
/// signals through a private duplicate of it, so that the program may close that number and keep a dup.
/// </remarks>
internal static unsafe class NativeFiles
{
    private static readonly Lock s_lock = new(); // guards writers of s_files and s_events
    private static object?[] s_files = new object?[16];
    private static readonly Dictionary<int, EventFd> s_events = [];

    [ThreadStatic]
    private static List<(int Fd, int Signal)>? t_newEventFds;

    /// <summary>Opens /dev/iommu for the calling process; returns the handle.</summary>
    public static int Open()
    {
        var host = NativeHost.Host;
        var file = host.Open(UserMemory.ForCallingProcess(host.Platform.Memory));
        file.EventFdFactory = NewEventFd;
        return Add(file);
    }

    /// <summary>
    /// Opens /dev/vfio/devices/vfio<paramref name="index"/>: the platform's devices in configuration order. ENOENT
    /// (as a negative errno) when there is no such device.
    /// </summary>
    public static int OpenVfio(int index)
    {
        var host = NativeHost.Host;
        var device = index >= 0 ? host.Platform.Devices.ElementAtOrDefault(index) : null;
        if (device is null)
        {
            return -(int)Errno.ENOENT;
        }

        return Add(host.OpenDevice(device, UserMemory.ForCallingProcess(host.Platform.Memory), ShimFdTable.Instance));
    }

    private static int Add(object file)
    {
        lock (s_lock)
        {
            int handle = Array.IndexOf(s_files, null);
            if (handle < 0)
            {
                handle = s_files.Length;
                Array.Resize(ref s_files, s_files.Length * 2);
            }

            s_files[handle] = file;
            return handle;
        }
    }

    /// <summary>The file (an <see cref="IommufdFile"/> or a <see cref="VfioDeviceFile"/>) behind a handle.</summary>
    public static object? Get(int handle)
    {
        var files = Volatile.Read(ref s_files);
        return (uint)handle < (uint)files.Length ? files[handle] : null;
    }

    /// <summary>The handle of an open file; -1 when it is not open.</summary>
    public static int HandleOf(object file)
    {
        lock (s_lock)
        {
            return Array.IndexOf(s_files, file);
        }
    }

    /// <summary>
    /// Closes a file. A /dev/iommu file's objects go and its event fds stay open but read as empty from now on; a
    /// device file unbinds its device, which drops its reference on the /dev/iommu file it was bound to.
    /// </summary>
    public static bool Close(int handle)
    {
        object? file;
        lock (s_lock)
        {
            file = Get(handle);
            if (file is null)
            {
                return false;
            }

            s_files[handle] = null;
            foreach (var fd in s_events.Where(e => e.Value.File == file).Select(e => e.Key).ToList())
            {
                s_events[fd] = s_events[fd] with { File = null };
            }
        }

        ((IDisposable)file).Dispose();
        return true;
    }

    /// <summary>
    /// After an ioctl: the event fds it created become the program's (the shim routes them here) and are armed;
    /// when it failed they are closed, as the kernel puts an fd it reserved but never installed. Only queue fds
    /// (<paramref name="queues"/>: not IOMMU_TEST_CMD's access fds, which never become readable) are armed.
    /// </summary>
    public static void ArmNewEventFds(IommufdFile file, Errno rc, bool queues)
    {
        if (t_newEventFds is not { Count: > 0 } fds)
        {
            return;
        }

        foreach (var (fd, signal) in fds)
        {
            if (rc != Errno.Success)
            {
                Libc.Close(signal);
                Libc.Close(fd);
                continue;
            }

            Shim.RegisterEventFd(fd);
            var entry = new EventFd(file, signal);
            lock (s_lock)
            {
                s_events[fd] = entry;
            }

            if (queues)
            {
                Arm(entry, fd);
            }
        }

        fds.Clear();
    }

    /// <summary>The file behind an event fd; null when its /dev/iommu file was closed (it then stays empty).</summary>
    public static IommufdFile? GetEventOwner(int fd)
    {
        lock (s_lock)
        {
            return s_events.GetValueOrDefault(fd).File;
        }
    }

    /// <summary>After a read: clears the eventfd, then sets it again at once if records remain.</summary>
    public static void Rearm(int fd)
    {
        EventFd entry;
        lock (s_lock)
        {
            entry = s_events.GetValueOrDefault(fd);
        }

        if (entry.File is not null)
        {
            ulong counter;
            Libc.Read(entry.Signal, &counter, sizeof(ulong)); // EAGAIN when it was clear: fine
            Arm(entry, fd);
        }
    }

    /// <summary>The last close of an event fd: the queue's fd reference goes.</summary>
    public static void CloseEventFd(int fd)
    {
        bool known;
        EventFd entry;
        lock (s_lock)
        {
            known = s_events.Remove(fd, out entry);
        }

        if (known)
        {
            entry.File?.Close(fd);
            Libc.Close(entry.Signal);
        }
    }

    private static int NewEventFd()
    {
        int fd = Libc.Eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (fd < 0)
        {
            throw new InvalidOperationException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        }

        (t_newEventFds ??= []).Add((fd, Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, 0)));
        return fd;
    }

    private static void Arm(EventFd entry, int fd)
    {
        var wait = entry.File!.WaitForEventsAsync(fd);
        if (wait.IsCompleted)
        {
            Signal(wait, fd);
        }
        else
        {
            wait.ContinueWith(static (t, state) => Signal(t, (int)state!), fd, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static void Signal(Task<Errno> wait, int fd)
    {
        EventFd entry;
        lock (s_lock)
        {
            entry = s_events.GetValueOrDefault(fd);
        }

        if (wait.IsCompletedSuccessfully && wait.Result == Errno.Success && entry.File is not null)
        {
            ulong one = 1;
            Libc.Write(entry.Signal, &one, sizeof(ulong));
        }
    }

    /// <summary>An event fd: its file (null once that closed) and the library's private duplicate.</summary>
    private readonly record struct EventFd(IommufdFile? File, int Signal);
}
