using NestedVmm;

namespace Iommufd.Tests.Samples;

/// <summary>The main job's histogram: bounded error, exact counts, merging, and no allocation per value.</summary>
public class LatencyHistogramTests
{
    [Test]
    public void Quantiles_are_within_one_bucket_of_the_exact_value()
    {
        var seed = Environment.TickCount;
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var values = Enumerable.Range(0, 10_000).Select(_ => (long)Math.Exp(random.NextDouble() * 20)).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var v in values)
        {
            histogram.Record(v);
        }

        Array.Sort(values);
        Assert.Multiple(() =>
        {
            foreach (double q in new[] { 0.5, 0.9, 0.99, 1.0 })
            {
                long exact = values[(int)Math.Ceiling(q * values.Length) - 1];
                long estimate = histogram.ValueAt(q);
                Assert.That(estimate, Is.GreaterThanOrEqualTo(exact), $"q {q}: the bucket's upper bound");
                Assert.That(estimate, Is.LessThanOrEqualTo(exact + Math.Max(1, exact / 32)), $"q {q}: within 1/32");
            }

            Assert.That(histogram.Count, Is.EqualTo(values.Length));
            Assert.That(histogram.Min, Is.EqualTo(values[0]));
            Assert.That(histogram.Max, Is.EqualTo(values[^1]));
            Assert.That(histogram.Mean, Is.EqualTo(values.Average()).Within(1e-6).Percent);
        });
    }

    [Test]
    public void Merging_gives_the_histogram_of_all_values()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        var all = new LatencyHistogram();
        for (long v = 1; v <= 1000; v++)
        {
            (v % 2 == 0 ? a : b).Record(v * 37);
            all.Record(v * 37);
        }

        a.Add(b);
        Assert.Multiple(() =>
        {
            Assert.That(a.Count, Is.EqualTo(all.Count));
            Assert.That(a.ValueAt(0.5), Is.EqualTo(all.ValueAt(0.5)));
            Assert.That(a.ValueAt(0.99), Is.EqualTo(all.ValueAt(0.99)));
            Assert.That(a.Min, Is.EqualTo(37));
            Assert.That(a.Max, Is.EqualTo(37_000));
        });
    }

    [Test]
    public void Small_values_are_exact_and_huge_ones_land_in_the_last_bucket()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(5);
        histogram.Record(-3);
        histogram.Record(long.MaxValue);
        Assert.Multiple(() =>
        {
            Assert.That(histogram.ValueAt(1.0 / 3), Is.Zero, "a negative duration counts as 0");
            Assert.That(histogram.ValueAt(2.0 / 3), Is.EqualTo(5));
            Assert.That(histogram.ValueAt(1), Is.EqualTo(long.MaxValue), "the open-ended last bucket answers the largest value");
        });
    }

    [Test]
    public void Recording_allocates_nothing()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (long v = 0; v < 100_000; v++)
        {
            histogram.Record(v * 13);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
