using System.Buffers;

namespace Iommufd.Core.Driver;

/// <summary>
/// Kernel-side scratch buffers for the one copy a driver makes of a caller's entries. Each thread keeps its own
/// array per entry type and reuses it, so a steady-state call allocates nothing — unlike
/// <see cref="ArrayPool{T}.Shared"/>, whose cached arrays a garbage collection may trim. Requests above
/// <see cref="MaxCachedLength"/>, or a second lease on the same thread, fall back to the shared pool.
/// </summary>
public static class KernelBuffer
{
    /// <summary>The largest buffer (in entries) a thread keeps for reuse.</summary>
    public const int MaxCachedLength = 1 << 16;

    /// <summary>A buffer of exactly <paramref name="length"/> entries (contents undefined) until the lease is disposed.</summary>
    public static Lease<T> Rent<T>(int length)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length <= MaxCachedLength && !PerThread<T>.Leased)
        {
            var cached = PerThread<T>.Array;
            if (cached is null || cached.Length < length)
            {
                cached = new T[Math.Max(64, (int)Math.Min(MaxCachedLength, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length)))];
                PerThread<T>.Array = cached;
            }

            PerThread<T>.Leased = true;
            return new Lease<T>(cached, length, pooled: false);
        }

        return new Lease<T>(ArrayPool<T>.Shared.Rent(length), length, pooled: true);
    }

    /// <summary>A rented buffer; dispose it to give it back.</summary>
    public ref struct Lease<T>
        where T : unmanaged
    {
        private T[]? _array;
        private readonly bool _pooled;

        internal Lease(T[] array, int length, bool pooled)
        {
            _array = array;
            Length = length;
            _pooled = pooled;
        }

        public readonly int Length { get; }

        public readonly Span<T> Span => _array.AsSpan(0, Length);

        public void Dispose()
        {
            if (_array is null)
            {
                return;
            }

            if (_pooled)
            {
                ArrayPool<T>.Shared.Return(_array);
            }
            else
            {
                PerThread<T>.Leased = false;
            }

            _array = null;
        }
    }

    private static class PerThread<T>
    {
        [ThreadStatic]
        public static T[]? Array;

        [ThreadStatic]
        public static bool Leased;
    }
}
