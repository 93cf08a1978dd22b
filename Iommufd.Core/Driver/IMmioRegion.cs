namespace Iommufd.Core.Driver;

/// <summary>
/// A region a driver lets user space <c>mmap</c> through the iommufd file: device registers (a Tegra241 VINTF
/// page) or plain memory (the mock's two pages). Accesses are 32 or 64 bits wide and naturally aligned.
/// </summary>
public interface IMmioRegion
{
    /// <summary>Length in bytes (whole pages).</summary>
    ulong Length { get; }

    /// <summary>
    /// The bytes from the start that hold anything (registers or memory); the rest reads as zero and ignores
    /// writes. A real page that mirrors the region (the native library's mmap) need only watch these.
    /// </summary>
    ulong RegisterLength => Length;

    /// <summary>Reads a 4- or 8-byte register at <paramref name="offset"/>.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes a 4- or 8-byte register at <paramref name="offset"/>.</summary>
    void Write(ulong offset, int size, ulong value);
}
