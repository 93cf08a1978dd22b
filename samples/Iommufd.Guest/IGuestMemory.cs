using Iommufd.ArmSmmuV3.Driver;

namespace Iommufd.Guest;

/// <summary>
/// Guest RAM as the guest kernel sees it: addresses are guest physical (IPAs). It hands out zeroed, aligned
/// blocks, and is where the guest keeps its stream table, CDs, page tables and queues.
/// </summary>
public interface IGuestMemory : ITableStore
{
    /// <summary>Allocates <paramref name="size"/> zeroed bytes aligned to <paramref name="alignment"/>; returns the IPA.</summary>
    ulong Allocate(ulong size, ulong alignment);

    /// <summary>The bytes at <paramref name="ipa"/>.</summary>
    Span<byte> Bytes(ulong ipa, int length);
}
