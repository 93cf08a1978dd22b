namespace Iommufd.Core.Memory;

/// <summary>A run of physically contiguous memory, backed by part of one native block.</summary>
public sealed unsafe class PhysicalBank
{
    internal PhysicalBank(ulong baseAddress, byte* pointer, int length, NativeBlock? ownedBlock)
    {
        BaseAddress = baseAddress;
        Pointer = pointer;
        Length = length;
        OwnedBlock = ownedBlock;
    }

    /// <summary>Physical address of the first byte.</summary>
    public ulong BaseAddress { get; }

    /// <summary>Length in bytes (whole pages).</summary>
    public int Length { get; }

    internal byte* Pointer { get; }

    /// <summary>The block this bank alone owns (released with the bank), or null when a region owns it.</summary>
    internal NativeBlock? OwnedBlock { get; }

    /// <summary>The bank's bytes, for the code that owns it (a driver's queue, a test's table).</summary>
    public Span<byte> Span => new(Pointer, Length);
}
