using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Objects;

namespace Iommufd.Core.Ioas;

/// <summary>
/// An access attached to an IOAS and the anonymous file that holds it (selftest.c's staccess file): the access
/// keeps the IOAS from being destroyed (EBUSY) until the file is closed. Its pins (ACCESS_PAGES items) are let go
/// when an unmap meets them (selftest.c iommufd_test_access_unmap()), when the access moves and when it closes.
/// </summary>
internal sealed class IoasAccess : IEventFile, ISelftestAccess
{
    private readonly Lock _replaceLock = new(); // serialises Replace; readers take _ioas as it is

    // Guards _items and _nextId (the staccess lock); taken before the IOAS lock, never inside it.
    private readonly Lock _itemsLock = new();
    private readonly List<Item> _items = [];
    private uint _nextId;
    private IoasObject? _ioas;

    /// <summary>
    /// Attaches to <paramref name="ioas"/>, which the caller holds a reference on. An access made with
    /// <paramref name="keepsPinsOnUnmap"/> ignores unmap notifications, so an unmap that meets its pins gives up
    /// (io_pagetable.c iopt_unmap_iova_range(): EDEADLOCK); closing or moving it still unpins.
    /// </summary>
    public IoasAccess(IoasObject ioas, bool needsPinPages, bool keepsPinsOnUnmap = false)
    {
        ioas.AddUser();
        ioas.AddAccess(this);
        _ioas = ioas;
        NeedsPinPages = needsPinPages;
        KeepsPinsOnUnmap = keepsPinsOnUnmap;
    }

    public bool NeedsPinPages { get; }

    /// <summary>True for an access whose unmap callback lets nothing go.</summary>
    public bool KeepsPinsOnUnmap { get; }

    public Errno PinPages(ulong iova, ulong length, bool write, out uint id, out ulong[] pages)
    {
        id = 0;
        pages = [];
        lock (_itemsLock)
        {
            if (Volatile.Read(ref _ioas) is not { } ioas)
            {
                return Errno.ENOENT;
            }

            var rc = ioas.PinForAccess(iova, length, write, out var areas, out pages);
            if (rc == Errno.Success)
            {
                id = _nextId++;
                _items.Add(new Item(id, iova, length, ioas, areas));
            }

            return rc;
        }
    }

    public Errno UnpinPages(uint id)
    {
        lock (_itemsLock)
        {
            int index = _items.FindIndex(i => i.Id == id);
            if (index < 0)
            {
                return Refusal.Because(Errno.ENOENT, $"the access has no pinned item {id}");
            }

            _items[index].Ioas.UnpinForAccess(_items[index].Areas, _items[index].Iova, _items[index].Length);
            _items.RemoveAt(index);
            return Errno.Success;
        }
    }

    /// <summary>
    /// The access's unmap callback (selftest.c iommufd_test_access_unmap()): unpins every item that meets the range,
    /// unless the access keeps its pins.
    /// </summary>
    internal void NotifyUnmap(ulong iova, ulong length)
    {
        if (!KeepsPinsOnUnmap)
        {
            Unpin(iova, length);
        }
    }

    /// <summary>Unpins every item that meets the range.</summary>
    private void Unpin(ulong iova, ulong length)
    {
        ulong last = iova + (length - 1);
        lock (_itemsLock)
        {
            _items.RemoveAll(item =>
            {
                if (iova > item.Iova + (item.Length - 1) || last < item.Iova)
                {
                    return false;
                }

                item.Ioas.UnpinForAccess(item.Areas, item.Iova, item.Length);
                return true;
            });
        }
    }

    public Errno ReadWrite(ulong iova, Span<byte> data, bool write) =>
        Volatile.Read(ref _ioas) is { } ioas ? ioas.AccessReadWrite(iova, data, write) : Errno.ENOENT;

    /// <summary>
    /// device.c iommufd_access_replace(): moves the access to <paramref name="ioas"/>, which the caller holds a
    /// reference on; a closed access is ENOENT, the same IOAS changes nothing.
    /// </summary>
    public Errno Replace(IoasObject ioas)
    {
        lock (_replaceLock)
        {
            var current = Volatile.Read(ref _ioas);
            if (current is null)
            {
                return Errno.ENOENT;
            }

            if (!ReferenceEquals(current, ioas))
            {
                Unpin(0, ulong.MaxValue); // device.c iommufd_access_change_ioas(): ops->unmap of everything first
                ioas.AddUser();
                ioas.AddAccess(this);
                Volatile.Write(ref _ioas, ioas);
                current.RemoveAccess(this);
                current.RemoveUser();
            }

            return Errno.Success;
        }
    }

    /// <summary>The staccess file has no read op (the VFS answers EINVAL).</summary>
    public Errno Read(Span<byte> buffer, long position, out int count)
    {
        count = 0;
        return Errno.EINVAL;
    }

    /// <summary>Nor a write op.</summary>
    public Errno Write(ReadOnlySpan<byte> buffer, long position, out int count)
    {
        count = 0;
        return Errno.EINVAL;
    }

    /// <summary>selftest.c iommufd_test_staccess_release(): the items are unpinned, the access destroyed, the IOAS released.</summary>
    public void Close()
    {
        Unpin(0, ulong.MaxValue);
        if (Interlocked.Exchange(ref _ioas, null) is { } ioas)
        {
            ioas.RemoveAccess(this);
            ioas.RemoveUser();
        }
    }

    /// <summary>One ACCESS_PAGES pin (selftest.c struct selftest_access_item).</summary>
    private sealed record Item(uint Id, ulong Iova, ulong Length, IoasObject Ioas, List<IovaArea> Areas);
}
