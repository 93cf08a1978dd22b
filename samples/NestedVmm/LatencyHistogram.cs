using System.Numerics;

namespace NestedVmm;

/// <summary>
/// A fixed-size log-linear histogram of durations in nanoseconds: exact below 64 ns, then 32 buckets per power of
/// two (at most 1/32 ≈ 3 % between a value and its bucket's bounds) up to 2^40 ns; larger values land in the last
/// bucket. Recording is O(1) and allocates nothing, so a vCPU can record every invalidation of a long run; one
/// histogram per thread, merged at the end.
/// </summary>
public sealed class LatencyHistogram
{
    private const int ExactBelow = 64; // values 0..63 have a bucket each
    private const int SubBucketBits = 5; // 32 buckets per power of two from 64 on
    private const int FirstExponent = 6; // log2(ExactBelow)
    private const int LastExponent = 39; // the last full octave: [2^39, 2^40)
    private const int BucketCount = ExactBelow + ((LastExponent - FirstExponent + 1) << SubBucketBits);

    private readonly long[] _counts = new long[BucketCount];
    private long _sum;

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }

    /// <summary>The smallest value recorded (0 when empty).</summary>
    public long Min { get; private set; }

    /// <summary>The largest value recorded (0 when empty).</summary>
    public long Max { get; private set; }

    /// <summary>The mean of the values recorded (exact: the sum is kept).</summary>
    public double Mean => Count == 0 ? 0 : (double)_sum / Count;

    /// <summary>Records one duration; negative values count as 0.</summary>
    public void Record(long nanoseconds)
    {
        long value = Math.Max(nanoseconds, 0);
        _counts[IndexOf(value)]++;
        Min = Count == 0 ? value : Math.Min(Min, value);
        Max = Math.Max(Max, value);
        _sum += value;
        Count++;
    }

    /// <summary>Adds every value of <paramref name="other"/> to this histogram.</summary>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0)
        {
            return;
        }

        for (int i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        Min = Count == 0 ? other.Min : Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        _sum += other._sum;
        Count += other.Count;
    }

    /// <summary>
    /// The value at quantile <paramref name="q"/> (0 &lt; q ≤ 1): the upper bound of the bucket holding the
    /// ⌈q·n⌉-th smallest value, never above <see cref="Max"/> (the last, open-ended bucket answers Max). 0 when empty.
    /// </summary>
    public long ValueAt(double q)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(q);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1);
        if (Count == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(q * Count));
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return i == BucketCount - 1 ? Max : Math.Min(UpperBound(i), Max); // the last bucket is open-ended
            }
        }

        return Max;
    }

    internal static int IndexOf(long value)
    {
        if (value < ExactBelow)
        {
            return (int)value;
        }

        int exponent = BitOperations.Log2((ulong)value);
        if (exponent > LastExponent)
        {
            return BucketCount - 1;
        }

        int sub = (int)(value >> (exponent - SubBucketBits)) & ((1 << SubBucketBits) - 1);
        return ExactBelow + ((exponent - FirstExponent) << SubBucketBits) + sub;
    }

    /// <summary>The largest value that lands in bucket <paramref name="index"/>.</summary>
    internal static long UpperBound(int index)
    {
        if (index < ExactBelow)
        {
            return index;
        }

        int octave = (index - ExactBelow) >> SubBucketBits;
        int sub = (index - ExactBelow) & ((1 << SubBucketBits) - 1);
        int exponent = FirstExponent + octave;
        long width = 1L << (exponent - SubBucketBits);
        return (1L << exponent) + ((sub + 1) * width) - 1;
    }
}
