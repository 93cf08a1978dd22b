namespace Iommufd.Guest;

/// <summary>A device's register space as a guest sees it: 32- and 64-bit loads and stores at offsets.</summary>
public interface IMmio
{
    ulong Read(uint offset, int size = 4);

    void Write(uint offset, ulong value, int size = 4);
}
