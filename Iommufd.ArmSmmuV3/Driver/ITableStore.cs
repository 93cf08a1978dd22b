namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>Where an <see cref="AArch64PageTable"/> keeps its tables: host physical memory, or a guest's RAM.</summary>
public interface ITableStore
{
    /// <summary>Allocates one zeroed table of <paramref name="size"/> bytes, aligned to its size; returns its address.</summary>
    ulong AllocateTable(int size);

    /// <summary>Reads the 64-bit descriptor at <paramref name="address"/>.</summary>
    ulong Read(ulong address);

    /// <summary>Writes the 64-bit descriptor <paramref name="value"/> at <paramref name="address"/>.</summary>
    void Write(ulong address, ulong value);
}
