using Iommufd.Core.Interop;

namespace Iommufd.Core.Memory;

/// <summary>
/// A file the calling process (a native program) names by fd in IOMMU_IOAS_MAP_FILE. The emulator runs in that
/// process, so it opens the same file again through /proc/self/fd (its own reference, as get_file() takes one: the
/// program may close its fd) and maps the pages a pin needs shared, so that the program, through the file or its own
/// mappings of it, and the device see the same bytes.
/// </summary>
internal sealed unsafe class CallerFile : IMappedFile
{
    private readonly PhysicalMemory _physical;
    private readonly int _fd; // our own descriptor of the file; -1 when it could not be opened for reading and writing
    private readonly bool _shmem;
    private int _refs = 1;

    private CallerFile(PhysicalMemory physical, int programFd, int fd, bool shmem)
    {
        _physical = physical;
        _fd = fd;
        _shmem = shmem;
        Name = $"fd {programFd}";
    }

    public string Name { get; }

    public long Size => _fd < 0 ? 0 : Libc.Lseek(_fd, 0, Libc.SEEK_END);

    /// <summary>fget() of <paramref name="fd"/> in the calling process: false (EBADF) when it names no open file.</summary>
    public static bool TryOpen(PhysicalMemory physical, int fd, out IMappedFile file)
    {
        file = null!;
        if (fd < 0 || Libc.Fcntl(fd, Libc.F_GETFD, 0) < 0)
        {
            return false;
        }

        // A file that cannot be opened again for reading and writing (a socket, a read-only file) is not a memfd:
        // the map succeeds and the pin fails, as memfd_pin_folios() refuses any file that is not shmem or hugetlbfs.
        int own = Libc.Open($"/proc/self/fd/{fd}", Libc.O_RDWR | Libc.O_CLOEXEC);
        bool shmem = false;
        if (own >= 0)
        {
            var statfs = stackalloc long[16];
            shmem = Libc.Fstatfs(own, statfs) == 0 && statfs[0] is Libc.TMPFS_MAGIC or Libc.HUGETLBFS_MAGIC;
        }

        file = new CallerFile(physical, fd, own, shmem);
        return true;
    }

    public Errno TryGetPages(ulong offset, ulong length, out UserRegion region, out ulong regionOffset)
    {
        region = null!;
        regionOffset = 0;
        long size = Size;
        if (!_shmem || length == 0 || offset + length < offset || offset + length - PhysicalMemory.PageSize >= (ulong)size)
        {
            return Errno.EINVAL;
        }

        var view = NativeBlock.Reserve(length);
        if (Libc.Mmap((nint)view.Pointer, (nuint)length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_FIXED, _fd, (long)offset) != (nint)view.Pointer)
        {
            view.Release();
            return Errno.ENOMEM;
        }

        // Released with the last unpin (UserMemory.ReleaseIfUnused): the shared view goes, the file's pages stay.
        region = new UserRegion(0, view, _physical.Place(view, contiguous: true), contiguous: true) { Unmapped = true };
        return Errno.Success;
    }

    public void AddRef() => Interlocked.Increment(ref _refs);

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0 && _fd >= 0)
        {
            Libc.Close(_fd);
        }
    }
}
