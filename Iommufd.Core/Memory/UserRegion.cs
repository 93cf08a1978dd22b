namespace Iommufd.Core.Memory;

/// <summary>
/// One mapping of a VMM's address space (what <c>mmap</c> returned, or the pages of the calling process that an
/// <c>IOMMU_IOAS_MAP</c> pinned): a virtual range backed by physical frames.
/// </summary>
public sealed class UserRegion
{
    private readonly NativeBlock _block;
    private readonly PhysicalBank[] _banks;
    private readonly bool _contiguous;
    private int _pins;
    private int _released;

    internal UserRegion(ulong address, NativeBlock block, PhysicalBank[] banks, bool contiguous)
    {
        Address = address;
        _block = block;
        _banks = banks;
        _contiguous = contiguous;
    }

    /// <summary>First virtual address.</summary>
    public ulong Address { get; }

    /// <summary>Length in bytes (whole pages).</summary>
    public ulong Length => _block.Length;

    /// <summary>True when the whole region is one physically contiguous run.</summary>
    public bool IsPhysicallyContiguous => _contiguous;

    /// <summary>
    /// Mapped without PROT_WRITE: a pin for writing fails (pin_user_pages() with FOLL_WRITE is EFAULT), so an IOAS
    /// map WRITEABLE of it fails when its pages are pinned. The emulated process itself, and ioctl outputs, still
    /// write it.
    /// </summary>
    public bool ReadOnly { get; init; }

    /// <summary>True while an IOAS mapping or a pinned access holds the region's pages.</summary>
    public bool IsPinned => Volatile.Read(ref _pins) > 0;

    /// <summary>
    /// The region's bytes as the owning process sees them. A region of 2 GiB or more has no single span: use
    /// <see cref="Slice"/>.
    /// </summary>
    public Span<byte> Span => Length <= int.MaxValue
        ? _block.Slice(0, (int)Length)
        : throw new InvalidOperationException($"a region of {Length} bytes has no single span; use Slice");

    /// <summary>The bytes [<paramref name="offset"/>, +<paramref name="length"/>) of the region.</summary>
    public Span<byte> Slice(ulong offset, int length) => _block.Slice(offset, length);

    internal bool Unmapped { get; set; }

    /// <summary>Physical address of the byte at <paramref name="offset"/> within the region.</summary>
    public ulong PhysicalAddressAt(ulong offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, Length);
        int shift = _contiguous ? PhysicalMemory.MaxBankShift : PhysicalMemory.PageShift; // the bank sizes Place uses
        ulong mask = (1UL << shift) - 1;
        return _banks[offset >> shift].BaseAddress + (offset & mask);
    }

    /// <summary>
    /// Length of the physically contiguous run that starts at <paramref name="offset"/>, capped at
    /// <paramref name="maxLength"/>.
    /// </summary>
    public ulong ContiguousLengthAt(ulong offset, ulong maxLength)
    {
        ulong pa = PhysicalAddressAt(offset);
        ulong run = Math.Min(maxLength, Length - offset);
        if (_contiguous)
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

    /// <summary>Removes the frames and gives the memory back, once.</summary>
    internal void Release(PhysicalMemory physical)
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            physical.Free(_banks);
            _block.Release();
        }
    }
}
