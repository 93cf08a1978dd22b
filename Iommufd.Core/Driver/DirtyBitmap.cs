using System.Numerics;

namespace Iommufd.Core.Driver;

/// <summary>
/// The user's dirty bitmap as a driver fills it (the kernel's <c>struct iommu_dirty_bitmap</c> over an
/// <c>iova_bitmap</c>, drivers/iommu/iommufd/iova_bitmap.c): bit <c>i</c> stands for the page of
/// <c>page_size</c> bytes at <c>iova + i * page_size</c>, bits are only ever set (what the caller had there stays),
/// and a recorded range sets every bit it touches, clipped to the bitmap's range.
/// </summary>
public ref struct DirtyBitmap
{
    private readonly Span<byte> _bits;
    private readonly ulong _iova;
    private readonly ulong _last;
    private readonly int _pageShift;

    /// <summary>
    /// A bitmap over [<paramref name="iova"/>, +<paramref name="length"/>) in <paramref name="bits"/>, one bit per
    /// page of 1 &lt;&lt; (the lowest set bit of <paramref name="pageSize"/>) bytes, as iova_bitmap_alloc() takes
    /// <c>__ffs(page_size)</c>.
    /// </summary>
    public DirtyBitmap(Span<byte> bits, ulong iova, ulong length, ulong pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfZero(pageSize);
        _bits = bits;
        _iova = iova;
        _last = iova + (length - 1);
        _pageShift = BitOperations.TrailingZeroCount(pageSize);
        IsRecording = true;
    }

    /// <summary>False for the empty bitmap (<c>default</c>): ranges are read and cleared, nothing is recorded.</summary>
    public bool IsRecording { get; }

    /// <summary>
    /// The bytes a bitmap of <paramref name="length"/> bytes of IOVA at <paramref name="pageSize"/> granules occupies:
    /// whole u64 words, as iova_bitmap_alloc() counts them; null when that does not fit in memory at all.
    /// </summary>
    public static ulong? ByteLength(ulong length, ulong pageSize)
    {
        ulong words = ((length - 1) >> BitOperations.TrailingZeroCount(pageSize) >> 6) + 1;
        return words > ulong.MaxValue / sizeof(ulong) ? null : words * sizeof(ulong);
    }

    /// <summary>iommu_dirty_bitmap_record() → iova_bitmap_set(): marks the pages of [iova, +length) dirty.</summary>
    public readonly void Record(ulong iova, ulong length)
    {
        if (!IsRecording || length == 0)
        {
            return;
        }

        ulong last = iova + Math.Min(length - 1, ulong.MaxValue - iova);
        if (last < _iova || iova > _last)
        {
            return;
        }

        ulong first = (Math.Max(iova, _iova) - _iova) >> _pageShift;
        ulong end = (Math.Min(last, _last) - _iova) >> _pageShift;
        for (ulong bit = first; bit <= end && (bit >> 3) < (ulong)_bits.Length; bit++)
        {
            _bits[(int)(bit >> 3)] |= (byte)(1 << (int)(bit & 7));
        }
    }
}
