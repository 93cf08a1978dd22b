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
}
