using System.Buffers.Binary;

namespace Iommufd.Core.Memory;

/// <summary>
/// The emulated machine's physical address space: what DMA and the hardware models (stream tables, command
/// queues, page tables) read and write. Memory is handed out in <see cref="PhysicalMemory.PageSize"/> frames that
/// belong to banks; a bank is a run of physically contiguous bytes backed by native memory (an anonymous
/// mapping the kernel commits page by page as it is touched, or pages a calling process pinned).
/// </summary>
/// <remarks>
/// Banks are kept in an immutable array sorted by address that is replaced when a bank comes or goes, so reads
/// from device and engine threads take no lock. Physical addresses are never reused, which keeps a stale hardware
/// pointer from silently aliasing new memory.
/// </remarks>
public sealed class PhysicalMemory
{
    /// <summary>The translation granule of the emulated host (4 KiB, as on a 4K-page arm64 host).</summary>
    public const int PageSize = 4096;

    /// <summary>log2 of <see cref="PageSize"/>.</summary>
    public const int PageShift = 12;

    /// <summary>Where the first bank is placed: DRAM starts above the MMIO hole on most Arm platforms.</summary>
    public const ulong DramBase = 0x8000_0000;

    /// <summary>The largest bank; a contiguous run longer than this is placed as adjacent banks.</summary>
    internal const int MaxBankShift = 30;

    internal const int MaxBankLength = 1 << MaxBankShift;

    private readonly Lock _lock = new(); // guards writers of _banks, and _next
    private PhysicalBank[] _banks = [];
    private ulong _next = DramBase;
    private long _frames;

    /// <summary>Number of frames currently present (for leak checks in tests).</summary>
    public int FrameCount => (int)Interlocked.Read(ref _frames);

    /// <summary>Allocates a physically contiguous, zeroed bank of at least <paramref name="length"/> bytes.</summary>
    /// <param name="length">Bytes wanted; rounded up to whole pages.</param>
    /// <param name="alignment">Physical alignment, a power of two of at least a page.</param>
    public unsafe PhysicalBank Allocate(long length, ulong alignment = PageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxBankLength);
        if (alignment < PageSize || !ulong.IsPow2(alignment))
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), "alignment must be a power of two of at least a page");
        }

        int rounded = (int)RoundUpToPage(length);
        var block = NativeBlock.Allocate((ulong)rounded);
        lock (_lock)
        {
            var bank = NewBank(block.Pointer, rounded, alignment, 0, block);
            Publish([bank]);
            return bank;
        }
    }

    /// <summary>
    /// Places the pages of <paramref name="block"/> in physical memory: as one contiguous run, or page by page at
    /// scattered addresses (the usual state of user memory that was not backed by a huge page). The caller owns
    /// the block.
    /// </summary>
    internal PhysicalBank[] Place(NativeBlock block, bool contiguous) => Place(block, 0, block.Length, contiguous);

    /// <summary>
    /// Places [<paramref name="start"/>, +<paramref name="length"/>) of <paramref name="block"/> (page aligned), as
    /// <see cref="Place(NativeBlock, bool)"/> does the whole block: a memory file places its pages as it grows.
    /// </summary>
    internal unsafe PhysicalBank[] Place(NativeBlock block, ulong start, ulong length, bool contiguous)
    {
        int size = contiguous ? MaxBankLength : PageSize;
        var banks = new PhysicalBank[(int)((length + (ulong)size - 1) / (ulong)size)];
        lock (_lock)
        {
            for (int i = 0; i < banks.Length; i++)
            {
                ulong offset = (ulong)i * (ulong)size;
                int bankLength = (int)Math.Min((ulong)size, length - offset);

                // Adjacent banks of a contiguous run touch; a one-page gap after each scattered frame guarantees
                // that neighbours in virtual memory are not neighbours in physical memory.
                banks[i] = NewBank(block.Pointer + start + offset, bankLength, PageSize, contiguous ? 0 : 1, null);
            }

            Publish(banks);
        }

        return banks;
    }

    /// <summary>Removes a bank's frames. Later accesses to its addresses fail as unbacked.</summary>
    public void Free(PhysicalBank bank)
    {
        ArgumentNullException.ThrowIfNull(bank);
        lock (_lock)
        {
            int index = Array.IndexOf(_banks, bank);
            if (index < 0)
            {
                return;
            }

            var banks = new PhysicalBank[_banks.Length - 1];
            Array.Copy(_banks, 0, banks, 0, index);
            Array.Copy(_banks, index + 1, banks, index, _banks.Length - index - 1);
            Volatile.Write(ref _banks, banks);
            Interlocked.Add(ref _frames, -(bank.Length >> PageShift));
        }

        bank.OwnedBlock?.Release();
    }

    /// <summary>Removes the frames of several banks at once (a region's), releasing the blocks they own.</summary>
    internal void Free(IReadOnlyCollection<PhysicalBank> gone)
    {
        var set = gone.ToHashSet();
        lock (_lock)
        {
            var banks = Array.FindAll(_banks, b => !set.Contains(b));
            long pages = 0;
            foreach (var bank in _banks)
            {
                if (set.Contains(bank))
                {
                    pages += bank.Length >> PageShift;
                }
            }

            Volatile.Write(ref _banks, banks);
            Interlocked.Add(ref _frames, -pages);
        }

        foreach (var bank in gone)
        {
            bank.OwnedBlock?.Release();
        }
    }

    /// <summary>
    /// Gets the bytes at <paramref name="address"/>: as many as are physically contiguous in one bank, at most
    /// <paramref name="maxLength"/>. Returns false for an unbacked address.
    /// </summary>
    public unsafe bool TryGetSpan(ulong address, int maxLength, out Span<byte> span)
    {
        var banks = Volatile.Read(ref _banks);
        int lo = 0, hi = banks.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var bank = banks[mid];
            if (address < bank.BaseAddress)
            {
                hi = mid - 1;
            }
            else if (address - bank.BaseAddress >= (ulong)bank.Length)
            {
                lo = mid + 1;
            }
            else
            {
                int offset = (int)(address - bank.BaseAddress);
                span = new Span<byte>(bank.Pointer + offset, Math.Min(maxLength, bank.Length - offset));
                return true;
            }
        }

        span = default;
        return false;
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

        value = BinaryPrimitives.ReadUInt64LittleEndian(b);
        return true;
    }

    /// <summary>Writes a little-endian 64-bit word; false if unbacked.</summary>
    public bool TryWriteUInt64(ulong address, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return TryWrite(address, b);
    }

    /// <summary>Rounds a length up to whole pages.</summary>
    public static long RoundUpToPage(long length) => (length + PageSize - 1) & ~(long)(PageSize - 1);

    private unsafe PhysicalBank NewBank(byte* pointer, int length, ulong alignment, int gapPages, NativeBlock? ownedBlock)
    {
        ulong basePa = (_next + alignment - 1) & ~(alignment - 1);
        _next = basePa + (ulong)length + (ulong)gapPages * PageSize;
        return new PhysicalBank(basePa, pointer, length, ownedBlock);
    }

    private void Publish(PhysicalBank[] added)
    {
        // Addresses only grow, so new banks go last and the array stays sorted.
        var banks = new PhysicalBank[_banks.Length + added.Length];
        _banks.CopyTo(banks, 0);
        added.CopyTo(banks, _banks.Length);
        Volatile.Write(ref _banks, banks);
        long pages = 0;
        foreach (var bank in added)
        {
            pages += bank.Length >> PageShift;
        }

        Interlocked.Add(ref _frames, pages);
    }
}
