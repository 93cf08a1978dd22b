using System.Runtime.InteropServices;

namespace Iommufd.Core.Interop;

/// <summary>
/// The few Linux system calls the memory model needs: anonymous and memfd mappings for frames, and
/// <c>process_vm_readv</c>/<c>process_vm_writev</c> on the own pid, which copy to and from the caller's memory
/// the way <c>copy_from_user</c> does — an unmapped or unwritable page makes the call return short or EFAULT,
/// it never faults the emulator.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int PROT_NONE = 0;
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_NORESERVE = 0x4000;
    public const int MADV_DONTNEED = 4;
    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;
    public const uint MFD_CLOEXEC = 1;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int F_GETFD = 1;
    public const int O_RDWR = 2;
    public const int O_CLOEXEC = 0x80000;
    public const int SEEK_END = 2;
    public const long TMPFS_MAGIC = 0x01021994;
    public const long HUGETLBFS_MAGIC = 0x958458f6;
    public const int RLIMIT_MEMLOCK = 8;

    public static readonly nint MapFailed = -1;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [LibraryImport(Library, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Library, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport(Library, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint address, nuint length, int advice);

    [LibraryImport(Library, EntryPoint = "mremap", SetLastError = true)]
    public static partial nint Mremap(nint oldAddress, nuint oldSize, nuint newSize, int flags, nint newAddress);

    [LibraryImport(Library, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Library, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "getpid")]
    public static partial int Getpid();

    [LibraryImport(Library, EntryPoint = "process_vm_readv", SetLastError = true)]
    public static partial nint ProcessVmReadv(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);

    [LibraryImport(Library, EntryPoint = "process_vm_writev", SetLastError = true)]
    public static partial nint ProcessVmWritev(int pid, IoVec* local, nuint localCount, IoVec* remote, nuint remoteCount, nuint flags);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int Eventfd(uint initial, int flags);

    [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    /// <summary>fstatfs(2) into <paramref name="buffer"/> (struct statfs, 120 bytes on 64-bit Linux; f_type first).</summary>
    [LibraryImport(Library, EntryPoint = "fstatfs", SetLastError = true)]
    public static partial int Fstatfs(int fd, void* buffer);

    /// <summary>getrlimit(2): <paramref name="limits"/> gets rlim_cur then rlim_max.</summary>
    [LibraryImport(Library, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int Getrlimit(int resource, ulong* limits);
}
