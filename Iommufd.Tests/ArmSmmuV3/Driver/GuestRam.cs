using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>Guest RAM for tests: a user region seen by the guest at <see cref="IpaBase"/>, with a bump allocator.</summary>
internal sealed class GuestRam(UserRegion region, ulong ipaBase) : ITableStore
{
    private ulong _next = 0x10_0000; // the first MiB is left for the test's own buffers

    public UserRegion Region { get; } = region;

    public ulong IpaBase { get; } = ipaBase;

    public ulong Allocate(ulong size, ulong alignment)
    {
        ulong at = (_next + alignment - 1) & ~(alignment - 1);
        _next = at + size;
        if (_next > Region.Length)
        {
            throw new InvalidOperationException("guest RAM exhausted");
        }

        Region.Span.Slice((int)at, (int)size).Clear();
        return IpaBase + at;
    }

    public ulong AllocateTable(int size) => Allocate((ulong)size, (ulong)size);

    public ulong Read(ulong address) => BitConverter.ToUInt64(Bytes(address, 8));

    public void Write(ulong address, ulong value) => BitConverter.TryWriteBytes(Bytes(address, 8), value);

    public Span<byte> Bytes(ulong ipa, int length) => Region.Span.Slice((int)(ipa - IpaBase), length);
}
