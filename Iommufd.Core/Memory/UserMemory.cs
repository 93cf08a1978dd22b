namespace Iommufd.Core.Memory;

/// <summary>
/// The emulated address space of one VMM process. Pointer fields of ioctl structs (<c>data_uptr</c>,
/// <c>user_va</c>, <c>allowed_iovas</c>) are addresses in it. An address that is not inside one live region is a
/// fault (EFAULT), never a crash.
/// </summary>
/// <remarks>
/// Regions are kept in an immutable sorted array that is replaced on map and unmap, so the lookups every ioctl
/// makes take no lock. A range must lie inside one region; regions are never adjacent (a guard gap separates
/// them), as if each were its own VMA.
/// </remarks>
public sealed class UserMemory
{
    /// <summary>Where the first region is placed, like the top-down mmap area of a 64-bit process.</summary>
    public const ulong MmapBase = 0x7f00_0000_0000;

    private readonly PhysicalMemory _physical;
    private readonly Lock _lock = new(); // guards writers of _regions and _next
    private UserRegion[] _regions = [];
    private ulong _next = MmapBase;

    public UserMemory(PhysicalMemory physical)
    {
        ArgumentNullException.ThrowIfNull(physical);
        _physical = physical;
    }

    /// <summary>Live regions, sorted by address.</summary>
    public IReadOnlyList<UserRegion> Regions => Volatile.Read(ref _regions);

    /// <summary>
    /// Maps <paramref name="length"/> zeroed bytes (rounded up to pages). With <paramref name="contiguous"/> the
    /// pages are physically contiguous, as if backed by a huge page; otherwise each page sits alone.
    /// </summary>
    public UserRegion Map(long length, bool contiguous = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var backing = GC.AllocateArray<byte>(checked((int)PhysicalMemory.RoundUpToPage(length)));
        var banks = _physical.Place(backing, contiguous);
        lock (_lock)
        {
            var region = new UserRegion(_next, backing, banks);
            _next += (ulong)backing.Length + PhysicalMemory.PageSize; // a guard page after each region
            var regions = new UserRegion[_regions.Length + 1];
            _regions.CopyTo(regions, 0);
            regions[^1] = region;
            Volatile.Write(ref _regions, regions);
            return region;
        }
    }

    /// <summary>
    /// Unmaps a region from the address space. Pages still pinned by an IOAS stay in physical memory until the
    /// last pin goes, as pinned pages do on Linux.
    /// </summary>
    public void Unmap(UserRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        lock (_lock)
        {
            int index = Array.IndexOf(_regions, region);
            if (index < 0)
            {
                throw new ArgumentException("the region is not mapped in this address space", nameof(region));
            }

            var regions = new UserRegion[_regions.Length - 1];
            Array.Copy(_regions, 0, regions, 0, index);
            Array.Copy(_regions, index + 1, regions, index, _regions.Length - index - 1);
            Volatile.Write(ref _regions, regions);
            region.Unmapped = true;
        }

        ReleaseIfUnused(region);
    }

    /// <summary>Finds the region holding [<paramref name="address"/>, +<paramref name="length"/>).</summary>
    public bool TryFind(ulong address, ulong length, out UserRegion region, out ulong offset)
    {
        var regions = Volatile.Read(ref _regions);
        int lo = 0, hi = regions.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = regions[mid];
            if (address < r.Address)
            {
                hi = mid - 1;
            }
            else if (address - r.Address >= r.Length)
            {
                lo = mid + 1;
            }
            else
            {
                offset = address - r.Address;
                if (length > r.Length - offset)
                {
                    break;
                }

                region = r;
                return true;
            }
        }

        region = null!;
        offset = 0;
        return false;
    }

    /// <summary>
    /// The bytes at [<paramref name="address"/>, +<paramref name="length"/>), or false (EFAULT) when any of them is
    /// outside a live region.
    /// </summary>
    public bool TryGetSpan(ulong address, ulong length, out Span<byte> span)
    {
        if (length == 0)
        {
            span = default;
            return address != 0 || length == 0;
        }

        if (!TryFind(address, length, out var region, out ulong offset))
        {
            span = default;
            return false;
        }

        span = region.Backing.AsSpan((int)offset, (int)length);
        return true;
    }

    /// <summary>
    /// The longest accessible prefix of [<paramref name="address"/>, +<paramref name="length"/>): what a
    /// <c>copy_from_user</c> of the range would manage before faulting.
    /// </summary>
    public Span<byte> GetAccessiblePrefix(ulong address, ulong length)
    {
        if (length == 0 || !TryFind(address, 1, out var region, out ulong offset))
        {
            return default;
        }

        ulong available = Math.Min(length, region.Length - offset);
        return region.Backing.AsSpan((int)offset, (int)available);
    }

    internal void ReleaseIfUnused(UserRegion region)
    {
        if (region.Unmapped && !region.IsPinned)
        {
            foreach (var bank in region.Banks)
            {
                _physical.Free(bank);
            }
        }
    }
}
