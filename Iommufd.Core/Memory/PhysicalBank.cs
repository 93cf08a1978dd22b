namespace Iommufd.Core.Memory;

/// <summary>A run of physically contiguous memory backed by part of one managed array.</summary>
public sealed class PhysicalBank
{
    internal PhysicalBank(ulong baseAddress, byte[] array, int arrayOffset, int length)
    {
        BaseAddress = baseAddress;
        Array = array;
        ArrayOffset = arrayOffset;
        Length = length;
    }

    /// <summary>Physical address of the first byte.</summary>
    public ulong BaseAddress { get; }

    /// <summary>Length in bytes (whole pages).</summary>
    public int Length { get; }

    internal byte[] Array { get; }

    internal int ArrayOffset { get; }

    /// <summary>The bank's bytes, for the code that owns it (a driver's queue, a test's table).</summary>
    public Span<byte> Span => Array.AsSpan(ArrayOffset, Length);
}
