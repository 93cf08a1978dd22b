using System.Buffers.Binary;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.MockDriver;

/// <summary>
/// The two zeroed pages a mock vIOMMU lets user space mmap (selftest.c mock_viommu_init()): plain memory, not
/// registers. They are taken from the machine's physical memory, as the kernel allocates real pages, so a leak shows in
/// <see cref="PhysicalMemory.FrameCount"/>.
/// </summary>
/// <remarks>
/// Accesses need no lock: like shared memory between two processes, concurrent writers race and each aligned 4- or
/// 8-byte access lands whole on a little-endian host (the emulation's only kind).
/// </remarks>
internal sealed class MockMmapRegion : IMmioRegion
{
    /// <summary>Two pages, as the selftest expects (<c>out_mmap_length</c>).</summary>
    public const ulong Size = 2 * PhysicalMemory.PageSize;

    private readonly PhysicalMemory _memory;
    private readonly PhysicalBank _bank;

    public MockMmapRegion(PhysicalMemory memory)
    {
        _memory = memory;
        _bank = memory.Allocate((long)Size);
    }

    public ulong Length => Size;

    public ulong Read(ulong offset, int size)
    {
        var bytes = _bank.Span[(int)offset..];
        return size == sizeof(uint) ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        var bytes = _bank.Span[(int)offset..];
        if (size == sizeof(uint))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        }
    }

    /// <summary>Returns the pages to physical memory; the vIOMMU calls this after removing the mmap registration.</summary>
    public void Free() => _memory.Free(_bank);
}
