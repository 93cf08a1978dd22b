using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;

namespace Iommufd.Native;

/// <summary>
/// Real pages for mmapped register regions (a Tegra241 VINTF page): the program maps shared anonymous memory and
/// reads and writes it with plain loads and stores; one thread here polls every such page the way a device polls
/// its registers. A 32-bit word the program changed is written to the register (a PROD store rings the doorbell),
/// and every register's value is stored back into the page, so that loads see CONS, STATUS and GERROR move.
/// </summary>
/// <remarks>
/// The poller spins (yielding) for a while after it last saw a change, then sleeps a millisecond between rounds,
/// and parks when no page is mapped. A store is never lost to a register update racing it: the page is updated
/// with a compare-exchange against the value last seen. Each round reads the page from its highest word down and
/// writes what changed in address order, so a doorbell placed above the registers it uses (the DMA engine's GO) is
/// never seen before them. Stores to several registers within one round reach the model in address order, not
/// program order; drivers wait for a register's read-back (VCMDQ_STATUS after VCMDQ_CONFIG) before they ring PROD,
/// which keeps their order.
/// </remarks>
internal static unsafe class PageMirror
{
    private const int SpinRounds = 2000;
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    private const int MapType = 0x0f, MapShared = 0x01, MapSharedValidate = 0x03;

    private static readonly object s_lock = new(); // a monitor (the poller waits on it); guards s_mappings, s_pages, s_nextId and every page's shadow
    private static readonly Dictionary<long, (IMmioRegion Region, IDisposable? Mapping)> s_mappings = [];
    private static readonly List<Page> s_pages = [];
    private static long s_nextId;
    private static Thread? s_thread;

    /// <summary>
    /// mmap(2) on a /dev/iommu file, first half: the file's checks (iommufd_fops_mmap, main.c) and the mapping.
    /// Returns the mapping's id, or a negative errno.
    /// </summary>
    public static long Map(IommufdFile file, ulong offset, ulong length, int prot, int flags)
    {
        var rc = file.Mmap(offset, length, Protection(prot, flags), out var mapping);
        return rc != Errno.Success ? -(long)rc : Add(new MappingRegion(mapping), mapping);
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

    private static long Add(IMmioRegion region, IDisposable? mapping)
    {
        lock (s_lock)
        {
            long id = ++s_nextId;
            s_mappings.Add(id, (region, mapping));
            return id;
        }
    }

    /// <summary>Second half: the program's page exists; <paramref name="alias"/> is the library's view of it.</summary>
    public static void Place(long id, nint alias)
    {
        lock (s_lock)
        {
            if (!s_mappings.TryGetValue(id, out var entry))
            {
                return;
            }

            var page = new Page(id, entry.Region, (uint*)alias, (int)(entry.Region.RegisterLength / sizeof(uint)));
            page.Load();
            s_pages.Add(page);
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "iommufd mmio poller" };
                s_thread.Start();
            }

            Monitor.PulseAll(s_lock);
        }
    }

    /// <summary>munmap: stores made before it still reach the registers; then no access touches the page.</summary>
    public static void Unmap(long id)
    {
        (IMmioRegion Region, IDisposable? Mapping) entry;
        lock (s_lock)
        {
            if (!s_mappings.Remove(id, out entry))
            {
                return;
            }

            int i = s_pages.FindIndex(p => p.Id == id);
            if (i >= 0)
            {
                s_pages[i].Sync();
                s_pages.RemoveAt(i);
            }
        }

        entry.Mapping?.Dispose();
    }

    private static void Run()
    {
        int idle = 0;
        while (true)
        {
            bool changed = false;
            lock (s_lock)
            {
                while (s_pages.Count == 0)
                {
                    Monitor.Wait(s_lock);
                }

                foreach (var page in s_pages)
                {
                    changed |= page.Sync();
                }
            }

            idle = changed ? 0 : idle + 1;
            if (idle < SpinRounds)
            {
                Thread.Yield();
            }
            else
            {
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>One mapped page: the program's words and the value of each as last seen on both sides.</summary>
    private sealed class Page(long id, IMmioRegion region, uint* words, int count)
    {
        private readonly uint[] _shadow = new uint[count];
        private readonly uint[] _seen = new uint[count];

        public long Id => id;

        public void Load()
        {
            for (int i = 0; i < count; i++)
            {
                _shadow[i] = (uint)region.Read((ulong)i * sizeof(uint), sizeof(uint));
                Volatile.Write(ref words[i], _shadow[i]);
            }
        }

        /// <summary>One polling round; true when a word changed on either side.</summary>
        public bool Sync()
        {
            // The program's mapping holds its file open (the shim counts it), so the region outlives the page; a
            // mapping unmapped some other way keeps its last values.
            try
            {
                return SyncWords();
            }
            catch (ObjectDisposedException)
            {
                return false; // unmapped under the poller: the page keeps its last values
            }
        }

        private bool SyncWords()
        {
            // Highest word first: a store the program made before a store to a higher word (SRC, DST and LEN before
            // the DMA engine's GO) is then never missed by a round that sees the later one (stores are seen in
            // program order on x86-64); the writes then reach the region in address order.
            for (int i = count - 1; i >= 0; i--)
            {
                _seen[i] = Volatile.Read(ref words[i]);
            }

            bool changed = false;
            for (int i = 0; i < count; i++)
            {
                ulong offset = (ulong)i * sizeof(uint);
                uint stored = _seen[i];
                if (stored != _shadow[i])
                {
                    region.Write(offset, sizeof(uint), stored);
                    _shadow[i] = stored;
                    changed = true;
                }

                uint register = (uint)region.Read(offset, sizeof(uint));
                if (register != _shadow[i] && Interlocked.CompareExchange(ref words[i], register, _shadow[i]) == _shadow[i])
                {
                    _shadow[i] = register;
                    changed = true;
                }
            }

            return changed;
        }
    }

    /// <summary>An iommufd mapping as a region: its accesses check that it is still mapped.</summary>
    private sealed class MappingRegion(MmioMapping mapping) : IMmioRegion
    {
        public ulong Length => mapping.Length;

        public ulong RegisterLength => mapping.RegisterLength;

        public ulong Read(ulong offset, int size) => size == 8 ? mapping.Read64(offset) : mapping.Read32(offset);

        public void Write(ulong offset, int size, ulong value)
        {
            if (size == 8)
            {
                mapping.Write64(offset, value);
            }
            else
            {
                mapping.Write32(offset, (uint)value);
            }
        }
    }
}
