using System.Buffers.Binary;
using Iommufd.Core.Memory;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// Guest RAM for running the guest driver on bare emulated hardware: one physical bank, IPA = PA (no stage 2), with
/// a bump allocator that hands out zeroed blocks aligned as asked.
/// </summary>
internal sealed class BankGuestMemory : IGuestMemory
{
    private readonly PhysicalBank _bank;
    private ulong _next;

    public BankGuestMemory(PhysicalMemory memory, int size)
    {
        _bank = memory.Allocate(size, 2 << 20);
    }

    public ulong Base => _bank.BaseAddress;

    public ulong Allocate(ulong size, ulong alignment)
    {
        ulong at = (Base + _next + alignment - 1) & ~(alignment - 1);
        if (at + size > Base + (ulong)_bank.Length)
        {
            throw new InvalidOperationException("guest RAM is full");
        }

        _next = at + size - Base;
        Bytes(at, (int)size).Clear();
        return at;
    }

    public Span<byte> Bytes(ulong ipa, int length)
    {
        if (ipa < Base || ipa - Base + (ulong)length > (ulong)_bank.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(ipa), $"0x{ipa:x} (+{length}) is outside guest RAM");
        }

        return _bank.Span.Slice((int)(ipa - Base), length);
    }

    public ulong AllocateTable(int size) => Allocate((ulong)size, (ulong)size);

    public ulong Read(ulong address) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(address, 8));

    public void Write(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Bytes(address, 8), value);
}
