using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Tests.Stress;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// A translation that raced an invalidation cannot leave its result cached: the IOTLB, the ATC and the
/// configuration cache refuse an insert made with a generation read before the invalidation ran.
/// </summary>
[TestFixture]
public class CacheGenerationTests
{
    private static readonly TlbEntry Entry = new(1, TlbEntry.NoAsid, TlbStage.Stage2, 0x1000, 12, 3, 0x8000, true, true);

    [Test]
    public void The_IOTLB_refuses_an_insert_from_before_an_invalidation_and_takes_one_from_after()
    {
        var tlb = new Iotlb();
        long before = tlb.Generation;
        tlb.InvalidateVmid(1); // nothing cached: it still counts

        using (Assert.EnterMultipleScope())
        {
            Assert.That(tlb.TryInsert(Entry, before), Is.False);
            Assert.That(tlb.Count, Is.Zero);
            Assert.That(tlb.TryInsert(Entry, tlb.Generation), Is.True);
            Assert.That(tlb.Count, Is.EqualTo(1));
        }
    }

    [Test]
    public void With_nothing_cached_and_no_transaction_in_flight_an_invalidation_leaves_the_generation()
    {
        var tlb = new Iotlb(transactions: new InFlightTransactions());
        long before = tlb.Generation;
        tlb.InvalidateVa(1, null, 0, ulong.MaxValue);
        tlb.InvalidateVmid(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(tlb.Generation, Is.EqualTo(before), "no walk can hold a result from before these invalidations");
            Assert.That(tlb.TryInsert(Entry, before), Is.True, "a walk that starts now reads the tables after them");
        }
    }

    [Test]
    public void With_a_transaction_in_flight_an_invalidation_of_an_empty_IOTLB_refuses_that_transaction_s_insert()
    {
        var transactions = new InFlightTransactions();
        var tlb = new Iotlb(transactions: transactions);
        int slot = transactions.Enter();
        long walkStart = tlb.Generation; // the walk reads the generation, then the old table
        tlb.InvalidateVmid(1);           // the table changed and was invalidated meanwhile
        bool inserted = tlb.TryInsert(Entry, walkStart);
        transactions.Leave(slot);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(inserted, Is.False);
            Assert.That(tlb.Count, Is.Zero);
        }
    }

    [Test]
    public void With_an_entry_cached_an_invalidation_moves_the_generation_and_removes_it_though_no_transaction_is_in_flight()
    {
        var tlb = new Iotlb(transactions: new InFlightTransactions());
        tlb.Insert(Entry);
        long before = tlb.Generation;
        tlb.InvalidateVmid(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(tlb.Count, Is.Zero);
            Assert.That(tlb.Generation, Is.Not.EqualTo(before));
        }
    }

    /// <summary>
    /// An invalidation of an empty IOTLB takes no lock (and, when it sees no transaction in flight, writes nothing),
    /// so a walk racing it must still not leave a translation from before it: a "walker" reads the generation and then
    /// the page table, a "driver" changes the page table and then invalidates, and after each invalidation no entry
    /// holds an output older than the change. With transactions the walker counts itself in around its walk, as every
    /// fill of the SMMU's TLB does.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void A_walk_racing_an_invalidation_of_an_empty_IOTLB_does_not_leave_a_stale_entry(bool transactions)
    {
        int seed = StressSettings.Seed;
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_STRESS_SEED={seed})");
        const int Changes = 20_000;
        var inFlight = transactions ? new InFlightTransactions() : null;
        var tlb = new Iotlb(transactions: inFlight);
        long table = 0; // the "page table": the output page the walker would find
        int stale = 0, done = 0;
        var walker = new Thread(() =>
        {
            var random = new Random(seed);
            while (Volatile.Read(ref done) == 0)
            {
                int slot = inFlight?.Enter() ?? 0;
                long generation = tlb.Generation;
                ulong output = (ulong)Volatile.Read(ref table) << 12;
                Thread.SpinWait(random.Next(4)); // the walk
                tlb.TryInsert(Entry with { OutputBase = output }, generation);
                inFlight?.Leave(slot);
                if (random.Next(4) == 0)
                {
                    Thread.SpinWait(random.Next(8)); // between transactions, so the driver also finds none in flight
                }
            }
        });
        walker.Start();
        for (long change = 1; change <= Changes; change++)
        {
            Volatile.Write(ref table, change);
            tlb.InvalidateVmid(1);
            if (tlb.TryLookup(1, TlbEntry.NoAsid, TlbStage.Stage2, Entry.InputBase, out var found) && (long)(found.OutputBase >> 12) < change)
            {
                stale++;
            }
        }

        Volatile.Write(ref done, 1);
        Assert.That(walker.Join(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(stale, Is.Zero, "entries from before an invalidation found after it");
    }

    [Test]
    public void The_ATC_refuses_an_insert_from_before_an_invalidation()
    {
        var atc = new Atc();
        long before = atc.Generation;
        atc.Invalidate(null, 0, ulong.MaxValue);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atc.TryInsert(0, Entry, before), Is.False);
            Assert.That(atc.Count, Is.Zero);
        }
    }

    [Test]
    public void The_configuration_cache_does_not_keep_an_STE_fetched_before_a_CFGI_STE()
    {
        var cache = new ConfigCache();
        long before = cache.Generation;
        cache.InvalidateStes(5, 5);
        cache.PutSte(5, new StreamTableEntry(1, 0, 0, 0), before);
        cache.PutSte(6, new StreamTableEntry(1, 0, 0, 0), cache.Generation);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cache.TryGetSte(5, out _), Is.False);
            Assert.That(cache.TryGetSte(6, out _), Is.True);
        }
    }
}
