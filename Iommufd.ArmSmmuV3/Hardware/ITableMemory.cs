namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Where a walk reads its descriptors: physical memory directly (stage 2, stage 1 without stage 2), or through a
/// stage-2 translation of each table address (stage 1 of a nested configuration).
/// </summary>
internal interface ITableMemory
{
    /// <summary>Reads the 64-bit descriptor at <paramref name="address"/>; a failure says why.</summary>
    TranslationFault TryRead(ulong address, out ulong descriptor);
}
