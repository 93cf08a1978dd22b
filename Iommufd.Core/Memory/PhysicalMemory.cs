using System.Collections.Concurrent;

namespace Iommufd.Core.Memory;

/// <summary>
/// The emulated machine's physical address space: what DMA and the hardware models (stream tables, command
/// queues, page tables) read and write. Memory is handed out in <see cref="PhysicalMemory.PageSize"/> frames that
/// belong to banks; a bank is a run of physically contiguous bytes backed by one managed array.
/// </summary>
/// <remarks>
/// Frames are looked up in a concurrent dictionary, so reads from device and engine threads take no lock.
/// Physical addresses are never reused, which keeps a stale hardware pointer from silently aliasing new memory.
/// </remarks>
public sealed class PhysicalMemory
{
    /// <summary>The translation granule of the emulated host (4 KiB, as on a 4K-page arm64 host).</summary>
    public const int PageSize = 4096;

    /// <summary>log2 of <see cref="PageSize"/>.</summary>
    public const int PageShift = 12;

    /// <summary>Where the first bank is placed: DRAM starts above the MMIO hole on most Arm platforms.</summary>
    public const ulong DramBase = 0x8000_0000;

    private readonly ConcurrentDictionary<ulong, PhysicalBank> _frames = new();
    private readonly Lock _allocLock = new(); // guards _next
    private ulong _next = DramBase;

    /// <summary>Number of frames currently present (for leak checks in tests).</summary>
    public int FrameCount => _frames.Count;

    /// <summary>Allocates a physically contiguous, zeroed bank of at least <paramref name="length"/> bytes.</summary>
    /// <param name="length">Bytes wanted; rounded up to whole pages.</param>
    /// <param name="alignment">Physical alignment, a power of two of at least a page.</param>
    public PhysicalBank Allocate(long length, ulong alignment = PageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (alignment < PageSize || !ulong.IsPow2(alignment))
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), "alignment must be a power of two of at least a page");
        }

        long rounded = RoundUpToPage(length);
        var array = GC.AllocateArray<byte>(checked((int)rounded));
        return AddBank(array, 0, (int)rounded, alignment);
    }

    /// <summary>
    /// Places pages of <paramref name="backing"/> in physical memory: as one contiguous bank, or page by page at
    /// scattered addresses (the usual state of user memory that was not backed by a huge page).
    /// </summary>
    internal PhysicalBank[] Place(byte[] backing, bool contiguous)
    {
        if (contiguous)
        {
            return [AddBank(backing, 0, backing.Length, PageSize)];
        }

        int pages = backing.Length / PageSize;
        var banks = new PhysicalBank[pages];
        for (int i = 0; i < pages; i++)
        {
            // A one-page gap between frames guarantees that neighbours in virtual memory are not neighbours in
            // physical memory.
            banks[i] = AddBank(backing, i * PageSize, PageSize, PageSize, gapPages: 1);
        }

        return banks;
    }

    /// <summary>Removes a bank's frames. Later accesses to its addresses fail as unbacked.</summary>
    public void Free(PhysicalBank bank)
    {
        ArgumentNullException.ThrowIfNull(bank);
        for (ulong pa = bank.BaseAddress; pa < bank.BaseAddress + (ulong)bank.Length; pa += PageSize)
        {
            _frames.TryRemove(pa >> PageShift, out _);
        }
    }

    /// <summary>
    /// Gets the bytes at <paramref name="address"/>: as many as are physically contiguous in one bank, at most
    /// <paramref name="maxLength"/>. Returns false for an unbacked address.
    /// </summary>
    public bool TryGetSpan(ulong address, int maxLength, out Span<byte> span)
    {
        if (!_frames.TryGetValue(address >> PageShift, out var bank))
        {
            span = default;
            return false;
        }

        int offset = (int)(address - bank.BaseAddress);
        span = bank.Array.AsSpan(bank.ArrayOffset + offset, Math.Min(maxLength, bank.Length - offset));
        return true;
    }

    /// <summary>Reads <paramref name="destination"/>.Length bytes; false if any byte is unbacked.</summary>
    public bool TryRead(ulong address, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            if (!TryGetSpan(address, destination.Length, out var chunk))
            {
                return false;
            }

            chunk.CopyTo(destination);
            destination = destination[chunk.Length..];
            address += (ulong)chunk.Length;
        }

        return true;
    }

    /// <summary>Writes <paramref name="source"/>; false (with nothing written past the fault) if unbacked.</summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            if (!TryGetSpan(address, source.Length, out var chunk))
            {
                return false;
            }

            source[..chunk.Length].CopyTo(chunk);
            source = source[chunk.Length..];
            address += (ulong)chunk.Length;
        }

        return true;
    }

    /// <summary>Reads a little-endian 64-bit word; false if unbacked.</summary>
    public bool TryReadUInt64(ulong address, out ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        if (!TryRead(address, b))
        {
            value = 0;
            return false;
        }

        value = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b);
        return true;
    }

    /// <summary>Writes a little-endian 64-bit word; false if unbacked.</summary>
    public bool TryWriteUInt64(ulong address, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return TryWrite(address, b);
    }

    /// <summary>Rounds a length up to whole pages.</summary>
    public static long RoundUpToPage(long length) => (length + PageSize - 1) & ~(long)(PageSize - 1);

    private PhysicalBank AddBank(byte[] array, int arrayOffset, int length, ulong alignment, int gapPages = 0)
    {
        ulong basePa;
        lock (_allocLock)
        {
            basePa = (_next + alignment - 1) & ~(alignment - 1);
            _next = basePa + (ulong)length + (ulong)gapPages * PageSize;
        }

        var bank = new PhysicalBank(basePa, array, arrayOffset, length);
        for (ulong pa = basePa; pa < basePa + (ulong)length; pa += PageSize)
        {
            _frames[pa >> PageShift] = bank;
        }

        return bank;
    }
}
