using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;

namespace Iommufd.Native;

/// <summary>
/// The native library's mmap of register regions (a Tegra241 VINTF page): the program maps shared anonymous memory,
/// and <see cref="PagePoller"/> polls it against the region the way a device polls its registers.
/// </summary>
internal static unsafe class PageMirror
{
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    private const int MapType = 0x0f, MapShared = 0x01, MapSharedValidate = 0x03;

    private static readonly Lock s_lock = new(); // guards s_mappings and s_nextId
    private static readonly Dictionary<long, Mapping> s_mappings = [];
    private static long s_nextId;

    /// <summary>
    /// mmap(2) on a /dev/iommu file, first half: the file's checks (iommufd_fops_mmap, main.c) and the mapping.
    /// Returns the mapping's id, or a negative errno.
    /// </summary>
    public static long Map(IommufdFile file, ulong offset, ulong length, int prot, int flags)
    {
        var rc = file.Mmap(offset, length, Protection(prot, flags), out var mapping);
        return rc != Errno.Success ? -(long)rc : Add(mapping, mapping);
    }

    /// <summary>mmap(2) on a device fd, first half: vfio_pci_core_mmap's checks. The mapping's id, or a negative errno.</summary>
    public static long Map(VfioDeviceFile device, ulong offset, ulong length, int prot, int flags)
    {
        var rc = device.Mmap(offset, length, Protection(prot, flags), out var region);
        return rc != Errno.Success ? -(long)rc : Add(region, null);
    }

    private static MmapProtection Protection(int prot, int flags) =>
        ((prot & ProtRead) != 0 ? MmapProtection.Read : 0)
        | ((prot & ProtWrite) != 0 ? MmapProtection.Write : 0)
        | ((prot & ProtExec) != 0 ? MmapProtection.Exec : 0)
        | ((flags & MapType) is MapShared or MapSharedValidate ? MmapProtection.Shared : 0);

    private static long Add(IMmioRegion region, IDisposable? owned)
    {
        lock (s_lock)
        {
            long id = ++s_nextId;
            s_mappings.Add(id, new Mapping(region, owned));
            return id;
        }
    }

    /// <summary>Second half: the program's page exists; <paramref name="alias"/> is the library's view of it.</summary>
    public static void Place(long id, nint alias)
    {
        lock (s_lock)
        {
            if (s_mappings.TryGetValue(id, out var mapping) && mapping.Page is null)
            {
                mapping.Page = PagePoller.Add(mapping.Region, (uint*)alias);
            }
        }
    }

    /// <summary>munmap: stores made before it still reach the registers; then no access touches the page.</summary>
    public static void Unmap(long id)
    {
        Mapping? mapping;
        lock (s_lock)
        {
            if (!s_mappings.Remove(id, out mapping))
            {
                return;
            }
        }

        if (mapping.Page is not null)
        {
            PagePoller.Remove(mapping.Page);
        }

        mapping.Owned?.Dispose();
    }

    private sealed class Mapping(IMmioRegion region, IDisposable? owned)
    {
        public IMmioRegion Region => region;

        public IDisposable? Owned => owned;

        public object? Page { get; set; }
    }
}
