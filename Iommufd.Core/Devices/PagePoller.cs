using Iommufd.Core.Driver;

namespace Iommufd.Core.Devices;

/// <summary>
/// Real pages for mmapped register regions (a Tegra241 VINTF page): a program reads and writes the page with plain
/// loads and stores, and one thread here polls every such page the way a device polls its registers. A 32-bit word
/// the program changed is written to the register (a PROD store rings the doorbell), and every register's value is
/// stored back into the page, so that loads see CONS, STATUS and GERROR move.
/// </summary>
/// <remarks>
/// The poller spins (yielding) for a while after it last saw a change, then sleeps a millisecond between rounds,
/// and parks when no page is polled. A store is never lost to a register update racing it: the page is updated
/// with a compare-exchange against the value last seen. Each round reads the page from its highest word down and
/// writes what changed in address order, so a doorbell placed above the registers it uses (the DMA engine's GO) is
/// never seen before them. Stores to several registers within one round reach the model in address order, not
/// program order; drivers wait for a register's read-back (VCMDQ_STATUS after VCMDQ_CONFIG) before they ring PROD,
/// which keeps their order.
/// </remarks>
internal static unsafe class PagePoller
{
    private const int SpinRounds = 2000;

    private static readonly object s_lock = new(); // a monitor (the poller waits on it); guards s_pages and every page's shadow
    private static readonly List<Page> s_pages = [];
    private static Thread? s_thread;
    private static long s_rounds;

    /// <summary>
    /// Polling rounds completed. Once it is two above a value read after a store, a whole round began after the
    /// store: the register has the stored value, and the page the registers' values of that round.
    /// </summary>
    public static long Rounds => Interlocked.Read(ref s_rounds);

    /// <summary>
    /// Starts polling the page at <paramref name="words"/> (<see cref="IMmioRegion.RegisterLength"/> bytes of it),
    /// first filled with the registers' values. The page stays valid until <see cref="Remove"/>.
    /// </summary>
    public static object Add(IMmioRegion region, uint* words)
    {
        var page = new Page(region, words, (int)(region.RegisterLength / sizeof(uint)));
        lock (s_lock)
        {
            page.Load();
            s_pages.Add(page);
            if (s_thread is null)
            {
                s_thread = new Thread(Run) { IsBackground = true, Name = "iommufd mmio poller" };
                s_thread.Start();
            }

            Monitor.PulseAll(s_lock);
        }

        return page;
    }

    /// <summary>Stops polling a page (munmap): stores made before it still reach the registers; then no access touches the page.</summary>
    public static void Remove(object page)
    {
        lock (s_lock)
        {
            if (s_pages.Remove((Page)page))
            {
                ((Page)page).Sync();
            }
        }
    }

    /// <summary>
    /// One polling round now, on the caller's thread: after an ioctl that changed registers under a page (IOMMU_DESTROY
    /// of a HW queue resets its VCMDQ_CONFIG), the page shows them before the program's next store. Without it, a
    /// store of the value the page still showed from before would not be seen as a change at all.
    /// </summary>
    public static void Refresh()
    {
        lock (s_lock)
        {
            foreach (var page in s_pages)
            {
                page.Sync();
            }
        }
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

            Interlocked.Increment(ref s_rounds);
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

    /// <summary>One polled page: the program's words and the value of each as last seen on both sides.</summary>
    private sealed class Page(IMmioRegion region, uint* words, int count)
    {
        private readonly uint[] _shadow = new uint[count];
        private readonly uint[] _seen = new uint[count];

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
            // The program's mapping holds its file open, so the region outlives the page; a mapping unmapped some
            // other way keeps its last values.
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
}
