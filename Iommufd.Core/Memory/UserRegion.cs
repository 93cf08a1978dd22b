namespace Iommufd.Core.Memory;

/// <summary>
/// One mapping of a VMM's address space (what <c>mmap</c> returned): a virtual range backed by physical frames.
/// </summary>
public sealed class UserRegion
{
    private readonly PhysicalBank[] _banks;
    private int _pins;

    internal UserRegion(ulong address, byte[] backing, PhysicalBank[] banks)
    {
        Address = address;
        Backing = backing;
        _banks = banks;
    }

    /// <summary>First virtual address.</summary>
    public ulong Address { get; }

    /// <summary>Length in bytes (whole pages).</summary>
    public ulong Length => (ulong)Backing.Length;

    /// <summary>True when the whole region is one physically contiguous bank.</summary>
    public bool IsPhysicallyContiguous => _banks.Length == 1;

    /// <summary>True while an IOAS mapping or a pinned access holds the region's pages.</summary>
    public bool IsPinned => Volatile.Read(ref _pins) > 0;

    /// <summary>The region's bytes as the owning process sees them.</summary>
    public Span<byte> Span => Backing;

    internal byte[] Backing { get; }

    internal bool Unmapped { get; set; }

    /// <summary>Physical address of the byte at <paramref name="offset"/> within the region.</summary>
    public ulong PhysicalAddressAt(ulong offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, Length);
        if (_banks.Length == 1)
        {
            return _banks[0].BaseAddress + offset;
        }

        return _banks[offset >> PhysicalMemory.PageShift].BaseAddress + (offset & (PhysicalMemory.PageSize - 1));
    }

    /// <summary>
    /// Length of the physically contiguous run that starts at <paramref name="offset"/>, capped at
    /// <paramref name="maxLength"/>.
    /// </summary>
    public ulong ContiguousLengthAt(ulong offset, ulong maxLength)
    {
        ulong pa = PhysicalAddressAt(offset);
        ulong run = Math.Min(maxLength, Length - offset);
        if (_banks.Length == 1)
        {
            return run;
        }

        ulong length = PhysicalMemory.PageSize - (offset & (PhysicalMemory.PageSize - 1));
        while (length < run && PhysicalAddressAt(offset + length) == pa + length)
        {
            length += PhysicalMemory.PageSize;
        }

        return Math.Min(length, run);
    }

    internal void Pin() => Interlocked.Increment(ref _pins);

    internal void Unpin() => Interlocked.Decrement(ref _pins);

    internal IReadOnlyList<PhysicalBank> Banks => _banks;
}
