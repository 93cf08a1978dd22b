namespace Iommufd.Core.Memory;

/// <summary>
/// A memfd of an emulated process (<see cref="UserMemory.CreateMemfd"/>): a shmem file whose pages an
/// <c>IOMMU_IOAS_MAP_FILE</c> maps. The pages are the file's own, so what <see cref="Write"/> puts in the file a device
/// reads by DMA through the mapping, and what a device writes <see cref="Read"/> returns.
/// </summary>
/// <remarks>
/// Pages are placed in physical memory, one frame each (shmem pages without transparent huge pages), as the file
/// first grows over them; they stay until the file is closed and no IOAS maps it any more (the kernel's file
/// reference, pages.c iopt_alloc_file_pages()). Not modelled: shrinking zeroes the bytes beyond the new size where the
/// kernel drops the pages from the file (a device that pinned them keeps the old contents there); the file cannot grow
/// past <see cref="MaxSize"/> (EFBIG, as RLIMIT_FSIZE would); it cannot be mmapped into the process; no seals.
/// </remarks>
public sealed class MemoryFile : IDisposable, IMappedFile
{
    /// <summary>The size a file may reach unless the creator says otherwise (virtual memory only, committed as written).</summary>
    public const long DefaultMaxSize = 1L << 30;

    private readonly PhysicalMemory _physical;
    private readonly UserMemory _owner;
    private readonly NativeBlock _block;

    // Guards _size, _banks, _refs and _released.
    private readonly Lock _lock = new();
    private readonly List<PhysicalBank> _banks = []; // one per placed page, in file order
    private long _size;
    private int _refs = 1; // the fd, and one per page set an IOAS maps
    private bool _released;

    internal MemoryFile(PhysicalMemory physical, UserMemory owner, int fd, string name, long maxSize)
    {
        _physical = physical;
        _owner = owner;
        Fd = fd;
        Name = name;
        MaxSize = PhysicalMemory.RoundUpToPage(maxSize);
        _block = NativeBlock.Allocate((ulong)MaxSize);
    }

    /// <summary>The file's descriptor in its process: what <c>IOMMU_IOAS_MAP_FILE</c> names in <c>fd</c>.</summary>
    public int Fd { get; }

    /// <summary>The name given to memfd_create (shown as /memfd:NAME).</summary>
    public string Name { get; }

    /// <summary>The largest size the file may reach (whole pages).</summary>
    public long MaxSize { get; }

    /// <summary>True once the fd was closed (<see cref="Dispose"/>).</summary>
    public bool IsClosed { get; private set; }

    /// <summary>The file size (fstat's st_size).</summary>
    public long Size
    {
        get
        {
            lock (_lock)
            {
                return _size;
            }
        }
    }

    /// <summary>ftruncate(2): a negative size is EINVAL, one past <see cref="MaxSize"/> EFBIG, a closed fd EBADF.</summary>
    public Errno Truncate(long size)
    {
        lock (_lock)
        {
            if (IsClosed)
            {
                return Errno.EBADF;
            }

            if (size < 0)
            {
                return Errno.EINVAL;
            }

            if (size > MaxSize)
            {
                return Errno.EFBIG;
            }

            for (long at = size; at < _size; at += int.MaxValue)
            {
                _block.Slice((ulong)at, (int)Math.Min(_size - at, int.MaxValue)).Clear(); // what reads back after growing again
            }

            SetSizeLocked(size);
            return Errno.Success;
        }
    }

    /// <summary>
    /// pwrite(2): writes at <paramref name="offset"/>, growing the file. A negative offset is EINVAL; an offset at or past
    /// <see cref="MaxSize"/> EFBIG, and a write that crosses it is cut there (mm/filemap.c generic_write_check_limits()).
    /// </summary>
    public Errno Write(long offset, ReadOnlySpan<byte> data, out int written)
    {
        written = 0;
        lock (_lock)
        {
            if (IsClosed)
            {
                return Errno.EBADF;
            }

            if (offset < 0)
            {
                return Errno.EINVAL;
            }

            if (data.IsEmpty)
            {
                return Errno.Success;
            }

            if (offset >= MaxSize)
            {
                return Errno.EFBIG;
            }

            written = (int)Math.Min(data.Length, MaxSize - offset);
            if (offset + written > _size)
            {
                SetSizeLocked(offset + written);
            }

            data[..written].CopyTo(_block.Slice((ulong)offset, written));
            return Errno.Success;
        }
    }

    /// <summary>pread(2): reads at <paramref name="offset"/> up to the end of the file (0 bytes past it).</summary>
    public Errno Read(long offset, Span<byte> data, out int read)
    {
        read = 0;
        lock (_lock)
        {
            if (IsClosed)
            {
                return Errno.EBADF;
            }

            if (offset < 0)
            {
                return Errno.EINVAL;
            }

            read = (int)Math.Clamp(_size - offset, 0, data.Length);
            _block.Slice((ulong)offset, read).CopyTo(data);
            return Errno.Success;
        }
    }

    /// <summary>close(2) of the fd. An IOAS that maps the file keeps its pages until it unmaps them.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (IsClosed)
            {
                return;
            }

            IsClosed = true;
        }

        _owner.ForgetFile(this);
        Release();
    }

    /// <summary>
    /// The pages behind [<paramref name="offset"/>, +<paramref name="length"/>) (page aligned) for a pin: a region over
    /// the file's frames. A page at or past the end of the file is EINVAL (memfd_pin_folios() cannot read it in: mm/shmem.c
    /// shmem_get_folio_gfp() refuses an index past i_size).
    /// </summary>
    Errno IMappedFile.TryGetPages(ulong offset, ulong length, out UserRegion region, out ulong regionOffset)
    {
        region = null!;
        regionOffset = 0;
        lock (_lock)
        {
            if (_released || length == 0 || offset + length < offset || offset + length - PhysicalMemory.PageSize >= (ulong)_size)
            {
                return Errno.EINVAL;
            }

            region = new UserRegion(0, _block, [.. _banks], contiguous: false);
            regionOffset = offset;
            return Errno.Success;
        }
    }

    /// <summary>A page set of an IOAS took the file (pages.c get_file()).</summary>
    void IMappedFile.AddRef()
    {
        lock (_lock)
        {
            _refs++;
        }
    }

    /// <summary>Drops the fd's or a page set's reference; the last gives the pages back.</summary>
    void IMappedFile.Release() => Release();

    private void Release()
    {
        PhysicalBank[] banks;
        lock (_lock)
        {
            if (--_refs > 0)
            {
                return;
            }

            _released = true;
            banks = [.. _banks];
            _banks.Clear();
        }

        _physical.Free(banks);
        _block.Release();
    }

    private void SetSizeLocked(long size)
    {
        long pages = PhysicalMemory.RoundUpToPage(size) / PhysicalMemory.PageSize;
        if (pages > _banks.Count)
        {
            ulong start = (ulong)_banks.Count * PhysicalMemory.PageSize;
            _banks.AddRange(_physical.Place(_block, start, (ulong)(pages - _banks.Count) * PhysicalMemory.PageSize, contiguous: false));
        }

        _size = size;
    }
}
