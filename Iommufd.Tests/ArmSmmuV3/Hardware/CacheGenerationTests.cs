using Iommufd.ArmSmmuV3.Hardware;

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
