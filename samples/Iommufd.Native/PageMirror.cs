using Iommufd.Core;

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
/// with a compare-exchange against the value last seen. Stores to several registers within one round reach the
/// model in address order, not program order; drivers wait for a register's read-back (VCMDQ_STATUS after
/// VCMDQ_CONFIG) before they ring PROD, which keeps their order.
/// </remarks>
internal static unsafe class PageMirror
{
    private const int SpinRounds = 2000;
    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    private const int MapType = 0x0f, MapShared = 0x01, MapSharedValidate = 0x03;

    private static readonly object s_lock = new(); // a monitor (the poller waits on it); guards s_mappings, s_pages, s_nextId and every page's shadow
    private static readonly Dictionary<long, MmioMapping> s_mappings = [];
    private static readonly List<Page> s_pages = [];
    private static long s_nextId;
    private static Thread? s_thread;

    /// <summary>
    /// mmap(2) on a /dev/iommu file, first half: the file's checks (iommufd_fops_mmap, main.c) and the mapping.
    /// Returns the mapping's id, or a negative errno.
    /// </summary>
    public static long Map(IommufdFile file, ulong offset, ulong length, int prot, int flags)
    {
        var protection = ((prot & ProtRead) != 0 ? MmapProtection.Read : 0)
            | ((prot & ProtWrite) != 0 ? MmapProtection.Write : 0)
            | ((prot & ProtExec) != 0 ? MmapProtection.Exec : 0)
            | ((flags & MapType) is MapShared or MapSharedValidate ? MmapProtection.Shared : 0);
        var rc = file.Mmap(offset, length, protection, out var mapping);
        if (rc != Errno.Success)
        {
            return -(long)rc;
        }

        lock (s_lock)
        {
            long id = ++s_nextId;
            s_mappings.Add(id, mapping);
            return id;
        }
    }

    /// <summary>Second half: the program's page exists; <paramref name="alias"/> is the library's view of it.</summary>
    public static void Place(long id, nint alias)
    {
        lock (s_lock)
        {
            if (!s_mappings.TryGetValue(id, out var mapping))
            {
                return;
            }

            var page = new Page(id, mapping, (uint*)alias, (int)(mapping.RegisterLength / sizeof(uint)));
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
        MmioMapping? mapping;
        lock (s_lock)
        {
            if (!s_mappings.Remove(id, out mapping))
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

        mapping.Dispose();
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
    private sealed class Page(long id, MmioMapping mapping, uint* words, int count)
    {
        private readonly uint[] _shadow = new uint[count];

        public long Id => id;

        public void Load()
        {
            for (int i = 0; i < count; i++)
            {
                _shadow[i] = mapping.Read32((ulong)i * sizeof(uint));
                Volatile.Write(ref words[i], _shadow[i]);
            }
        }

        /// <summary>One polling round; true when a word changed on either side.</summary>
        public bool Sync()
        {
            // The program's mapping holds its /dev/iommu file open (the shim counts it), so the region outlives
            // the page; a mapping unmapped some other way keeps its last values.
            if (!mapping.IsMapped)
            {
                return false;
            }

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
            bool changed = false;
            for (int i = 0; i < count; i++)
            {
                ulong offset = (ulong)i * sizeof(uint);
                uint stored = Volatile.Read(ref words[i]);
                if (stored != _shadow[i])
                {
                    mapping.Write32(offset, stored);
                    _shadow[i] = stored;
                    changed = true;
                }

                uint register = mapping.Read32(offset);
                if (register != _shadow[i] && Interlocked.CompareExchange(ref words[i], register, _shadow[i]) == _shadow[i])
                {
                    _shadow[i] = register;
                    changed = true;
                }
            }

            return changed;
        }
    }
}
