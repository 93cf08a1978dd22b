using System.Buffers.Binary;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// A guest's RAM for nested tests: an IPA window at <see cref="IpaBase"/> backed by one host bank. As an
/// <see cref="ITableStore"/> it builds stage-1 tables inside the window, addressed by IPA, as a guest driver does.
/// </summary>
internal sealed class GuestRam : ITableStore
{
    public const ulong IpaBase = 0x4000_0000;

    private ulong _next;

    public GuestRam(PhysicalMemory memory, int size)
    {
        Bank = memory.Allocate(size);
    }

    /// <summary>The host memory behind the window (what stage 2 maps the window to).</summary>
    public PhysicalBank Bank { get; }

    public ulong Size => (ulong)Bank.Length;

    /// <summary>Allocates <paramref name="size"/> zeroed bytes aligned to max(size, page); returns their IPA.</summary>
    public ulong Allocate(int size)
    {
        ulong alignment = (ulong)Math.Max(size, PhysicalMemory.PageSize);
        ulong offset = (_next + alignment - 1) & ~(alignment - 1);
        if (offset + (ulong)size > Size)
        {
            throw new InvalidOperationException("guest RAM is full");
        }

        _next = offset + (ulong)size;
        return IpaBase + offset;
    }

    public ulong AllocateTable(int size) => Allocate(size);

    public ulong ToPhysical(ulong ipa) => Bank.BaseAddress + (ipa - IpaBase);

    public Span<byte> Span(ulong ipa, int length) => Bank.Span.Slice((int)(ipa - IpaBase), length);

    public ulong Read(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(Span(address, 8));

    public void Write(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Span(address, 8), value);
}
