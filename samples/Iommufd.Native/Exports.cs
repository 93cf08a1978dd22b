using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.Native;

/// <summary>
/// The C entry points of the library (see samples/native/shim/iommufd-shim.c, their only caller). Each returns
/// a non-negative result or a negative errno, as a system call does, and never lets an exception out: one that
/// reaches here is a bug of the emulation, reported on stderr and answered with EIO.
/// </summary>
public static unsafe class Exports
{
    /// <summary>The most one read() of an event fd returns: whole records up to this many bytes.</summary>
    private const int ReadProbe = 4096;

    /// <summary>
    /// Start-up: the shim's callbacks for fds the library creates and for the /dev/iommu fd a device binds to.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_init", CallConvs = [typeof(CallConvCdecl)])]
    public static int Init(delegate* unmanaged<int, void> registerEventFd, delegate* unmanaged<int, int> getIommufd, delegate* unmanaged<int, void> putIommufd)
    {
        Shim.Initialize(registerEventFd, getIommufd, putIommufd);
        return 0;
    }

    /// <summary>open("/dev/vfio/devices/vfioN"): a handle for the new device file, or -ENOENT.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_vfio_open", CallConvs = [typeof(CallConvCdecl)])]
    public static int VfioOpen(int index)
    {
        try
        {
            return NativeFiles.OpenVfio(index);
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>open("/dev/iommu"): a handle for the new file.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_open", CallConvs = [typeof(CallConvCdecl)])]
    public static int Open()
    {
        try
        {
            return NativeFiles.Open();
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>The last close of a /dev/iommu or device fd.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_close", CallConvs = [typeof(CallConvCdecl)])]
    public static int Close(int handle)
    {
        try
        {
            return NativeFiles.Close(handle) ? 0 : -(int)Errno.EBADF;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>ioctl(fd, request, arg) on a /dev/iommu or device fd: arg is a pointer in the calling process.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_ioctl", CallConvs = [typeof(CallConvCdecl)])]
    public static int Ioctl(int handle, uint request, ulong argument)
    {
        try
        {
            switch (NativeFiles.Get(handle))
            {
                case IommufdFile file:
                    var rc = file.Ioctl(request, argument, out int result);
                    NativeFiles.ArmNewEventFds(file, rc, queues: request != IommufdIoctl.IOMMU_TEST_CMD);
                    return rc == Errno.Success ? result : -(int)rc;
                case VfioDeviceFile device:
                    return -(int)device.Ioctl(request, argument);
                default:
                    return -(int)Errno.EBADF;
            }
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>
    /// pread/pwrite(fd, buffer, count, offset) on a device fd (the config space, region 7); /dev/iommu has no read or
    /// write (EINVAL). The bytes moved, or a negative errno.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_rw", CallConvs = [typeof(CallConvCdecl)])]
    public static long ReadWrite(int handle, ulong offset, ulong buffer, ulong count, int write)
    {
        try
        {
            return NativeFiles.Get(handle) is VfioDeviceFile device ? device.ReadWrite(offset, buffer, count, write != 0) : -(long)Errno.EINVAL;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>
    /// mmap(fd, offset, length, prot, flags) on a /dev/iommu or device fd, before the shim maps the program's page: the
    /// mapping's id, or a negative errno.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_mmap", CallConvs = [typeof(CallConvCdecl)])]
    public static long Mmap(int handle, ulong offset, ulong length, int prot, int flags)
    {
        try
        {
            return NativeFiles.Get(handle) switch
            {
                IommufdFile file => PageMirror.Map(file, offset, length, prot, flags),
                VfioDeviceFile device => PageMirror.Map(device, offset, length, prot, flags),
                _ => -(long)Errno.ENODEV,
            };
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>The program's page for mapping <paramref name="id"/> exists; <paramref name="alias"/> is a second view of it.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_mmap_place", CallConvs = [typeof(CallConvCdecl)])]
    public static int MmapPlace(long id, ulong alias)
    {
        try
        {
            PageMirror.Place(id, (nint)alias);
            return 0;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>munmap of mapping <paramref name="id"/> (or the shim could not map its page).</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_munmap", CallConvs = [typeof(CallConvCdecl)])]
    public static int Munmap(long id)
    {
        try
        {
            PageMirror.Unmap(id);
            return 0;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>read() of an event fd: whole records, copied to the caller's buffer.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_event_read", CallConvs = [typeof(CallConvCdecl)])]
    public static long EventRead(int fd, ulong buffer, ulong length)
    {
        try
        {
            var file = NativeFiles.GetEventOwner(fd);
            if (file is null)
            {
                return 0; // the /dev/iommu file is gone: nothing will ever arrive
            }

            // A record that cannot be copied out stays queued (iommufd_veventq_fops_read restores it, eventq.c):
            // records are taken only for the part of the buffer known to be writable, found by writing its bytes
            // back unchanged. Nothing writable: EFAULT while a record waits, 0 (nothing to read) otherwise.
            CallerAddressSpace.BeginCall();
            var probe = CallerAddressSpace.CopyInPrefix(buffer, Math.Min(length, ReadProbe));
            int size = probe.Length > 0 && CallerAddressSpace.CopyOut(buffer, probe) ? probe.Length : 0;
            if (size == 0)
            {
                return length > 0 && file.WaitForEventsAsync(fd).IsCompletedSuccessfully ? -(int)Errno.EFAULT : 0;
            }

            var kernel = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                var rc = file.Read(fd, kernel.AsSpan(0, size), out int count);
                NativeFiles.Rearm(fd);
                if (rc != Errno.Success)
                {
                    return -(int)rc;
                }

                return CallerAddressSpace.CopyOut(buffer, kernel.AsSpan(0, count)) ? count : -(int)Errno.EFAULT;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(kernel);
            }
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>write() of an event fd (fault-queue responses).</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_event_write", CallConvs = [typeof(CallConvCdecl)])]
    public static long EventWrite(int fd, ulong buffer, ulong length)
    {
        try
        {
            var file = NativeFiles.GetEventOwner(fd);
            if (file is null)
            {
                return -(int)Errno.EBADF;
            }

            CallerAddressSpace.BeginCall();
            var bytes = CallerAddressSpace.CopyInPrefix(buffer, length);
            if ((ulong)bytes.Length != length)
            {
                return -(int)Errno.EFAULT;
            }

            var rc = file.Write(fd, bytes, out int count);
            return rc == Errno.Success ? count : -(int)rc;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    /// <summary>The last close of an event fd.</summary>
    [UnmanagedCallersOnly(EntryPoint = "iommufd_emu_event_close", CallConvs = [typeof(CallConvCdecl)])]
    public static int EventClose(int fd)
    {
        try
        {
            NativeFiles.CloseEventFd(fd);
            return 0;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
    }

    private static int Fail(Exception e)
    {
        try
        {
            if (e is InvalidDataException)
            {
                // The platform (IOMMUFD_PLATFORM) is not valid: the nodes do not exist.
                Console.Error.WriteLine($"iommufd-emu: {e.Message}");
                return -(int)Errno.ENODEV;
            }

            Console.Error.WriteLine($"iommufd-emu: internal error: {e}");
        }
        catch (IOException)
        {
        }

        return -(int)Errno.EIO;
    }
}
