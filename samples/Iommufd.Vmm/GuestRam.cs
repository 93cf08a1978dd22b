using System.Buffers.Binary;
using Iommufd.Core.Memory;
using Iommufd.Guest;

namespace Iommufd.Vmm;

/// <summary>
/// A VM's RAM: a region of the VMM's address space that the guest sees at <see cref="IpaBase"/>. The VMM maps it
/// into the IOAS at the same addresses, so guest physical addresses are the nest parent's IOVAs. The allocator is
/// the guest kernel's (page tables, queues, buffers).
/// </summary>
public sealed class GuestRam : IGuestMemory
{
    private readonly Lock _lock = new(); // guards _next
    private ulong _next;

    /// <summary>
    /// Guest RAM over <paramref name="region"/>, which the guest sees from <paramref name="ipaBase"/> on; nothing is
    /// allocated yet.
    /// </summary>
    public GuestRam(UserRegion region, ulong ipaBase)
    {
        ArgumentNullException.ThrowIfNull(region);
        Region = region;
        IpaBase = ipaBase;
    }

    /// <summary>The VMM's memory behind guest RAM (mapped into the IOAS at <see cref="IpaBase"/>).</summary>
    public UserRegion Region { get; }

    /// <summary>The guest physical address of the first byte; also its IOVA in the nest parent.</summary>
    public ulong IpaBase { get; }

    /// <summary>Bytes of guest RAM.</summary>
    public ulong Size => Region.Length;

    /// <inheritdoc/>
    public ulong Allocate(ulong size, ulong alignment)
    {
        lock (_lock)
        {
            ulong at = (_next + alignment - 1) & ~(alignment - 1);
            if (at + size > Region.Length)
            {
                throw new InvalidOperationException($"guest RAM exhausted ({size} bytes wanted)");
            }

            _next = at + size;
            Region.Span.Slice((int)at, (int)size).Clear();
            return IpaBase + at;
        }
    }

    /// <inheritdoc/>
    public ulong AllocateTable(int size) => Allocate((ulong)size, (ulong)size);

    /// <inheritdoc/>
    public Span<byte> Bytes(ulong ipa, int length)
    {
        if (ipa < IpaBase || ipa - IpaBase + (ulong)length > Region.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(ipa), $"0x{ipa:x} (+{length}) is outside guest RAM");
        }

        return Region.Span.Slice((int)(ipa - IpaBase), length);
    }

    /// <summary>True when <paramref name="length"/> bytes at <paramref name="ipa"/> are all inside guest RAM.</summary>
    public bool Contains(ulong ipa, int length) => ipa >= IpaBase && ipa - IpaBase + (ulong)length <= Region.Length;

    /// <summary>Reads the little-endian 64-bit word at the IPA <paramref name="address"/> (a table entry).</summary>
    public ulong Read(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(address, 8));

    /// <summary>Writes the little-endian 64-bit word at the IPA <paramref name="address"/>.</summary>
    public void Write(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Bytes(address, 8), value);
}
