using System.Buffers.Binary;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>The four little-endian 64-bit words that STEs, CDs and event records start with.</summary>
internal static class LittleEndianWords
{
    public static (ulong W0, ulong W1, ulong W2, ulong W3) Read4(ReadOnlySpan<byte> bytes) => (
        BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]));

    public static void Write4(Span<byte> bytes, ulong w0, ulong w1, ulong w2, ulong w3)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, w0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], w1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[16..], w2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[24..], w3);
    }
}
