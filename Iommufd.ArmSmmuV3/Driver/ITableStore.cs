namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>Where an <see cref="AArch64PageTable"/> keeps its tables: host physical memory, or a guest's RAM.</summary>
public interface ITableStore
{
    /// <summary>Allocates one zeroed table of <paramref name="size"/> bytes, aligned to its size; returns its address.</summary>
    ulong AllocateTable(int size);

    ulong Read(ulong address);

    void Write(ulong address, ulong value);
}
