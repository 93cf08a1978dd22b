using System.Runtime.InteropServices;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Padding that keeps a word one thread writes often off the cache lines other threads read: each hot word sits in
/// a struct with this many bytes on either side. 128 rather than 64: x64 processors fetch lines in adjacent pairs and
/// some Arm cores have 128-byte lines (the padding .NET's own concurrent collections use).
/// </summary>
internal static class CacheLine
{
    /// <summary>Bytes of padding on each side of a hot word.</summary>
    public const int Padding = 128;

    /// <summary>The bytes one cache line holds on x64 (the unit a prefetch fetches).</summary>
    public const int Size = 64;
}

/// <summary>
/// A queue position and a count its one writer keeps beside it (CONS and the entries consumed; the PROD an owner rang
/// and the batches rung), alone on their cache lines (<see cref="CacheLine.Padding"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = (2 * CacheLine.Padding) + 16)]
internal struct PaddedPosition
{
    /// <summary>The position (index and wrap bit, and for CONS its ERR field).</summary>
    [FieldOffset(CacheLine.Padding)]
    public uint Value;

    /// <summary>The count kept with it, written by the position's writer only.</summary>
    [FieldOffset(CacheLine.Padding + 8)]
    public long Count;
}
