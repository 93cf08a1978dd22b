namespace Iommufd.Guest;

/// <summary>A device's register space as a guest sees it: 32- and 64-bit loads and stores at offsets.</summary>
public interface IMmio
{
    /// <summary>Loads <paramref name="size"/> bytes (4 or 8) from the register at <paramref name="offset"/>.</summary>
    ulong Read(uint offset, int size = 4);

    /// <summary>
    /// Stores the low <paramref name="size"/> bytes (4 or 8) of <paramref name="value"/> to the register at <paramref
    /// name="offset"/>.
    /// </summary>
    void Write(uint offset, ulong value, int size = 4);
}
