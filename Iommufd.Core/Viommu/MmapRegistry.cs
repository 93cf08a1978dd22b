using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Viommu;

/// <summary>
/// The regions a file's vIOMMUs registered for <c>mmap</c> (the kernel's <c>ictx->mt_mmap</c>): offset →
/// region. A mapping must name a registered offset and exactly its length.
/// </summary>
internal sealed class MmapRegistry
{
    private const ulong FirstOffset = 0x10000;

    private readonly Lock _lock = new(); // guards _entries and _next
    private readonly Dictionary<ulong, Entry> _entries = [];
    private ulong _next = FirstOffset;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public Errno Register(ViommuObject owner, IMmioRegion region, out ulong offset)
    {
        ulong length = region.Length;
        if (length == 0 || (length & (PhysicalMemory.PageSize - 1)) != 0)
        {
            throw new ArgumentException("an mmap region is a whole number of pages", nameof(region));
        }

        lock (_lock)
        {
            offset = _next;
            _next += length;
            _entries.Add(offset, new Entry(owner, region, length));
        }

        return Errno.Success;
    }

    public void Unregister(ulong offset)
    {
        lock (_lock)
        {
            _entries.Remove(offset);
        }
    }

    /// <summary>
    /// Finds the region registered at exactly (<paramref name="offset"/>, <paramref name="length"/>) and takes a
    /// user reference on its owner for the mapping's lifetime. An owner already claimed for destruction (its
    /// registration not yet removed) is ENXIO, as if it were gone.
    /// </summary>
    public Errno Map(ulong offset, ulong length, out ViommuObject owner, out IMmioRegion region)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(offset, out var entry) && entry.Length == length && entry.Owner.TryAddUser())
            {
                owner = entry.Owner;
                region = entry.Region;
                return Errno.Success;
            }
        }

        owner = null!;
        region = null!;
        return Refusal.Because(Errno.ENXIO, $"no region is registered at offset 0x{offset:x} with length 0x{length:x}");
    }

    private readonly record struct Entry(ViommuObject Owner, IMmioRegion Region, ulong Length);
}
