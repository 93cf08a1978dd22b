using Iommufd.Core.Memory;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>Tables in host physical memory, as a host driver keeps its stage-2 tables.</summary>
internal sealed class PhysicalTableStore(PhysicalMemory memory) : ITableStore
{
    private readonly Lock _lock = new(); // guards _banks
    private readonly List<PhysicalBank> _banks = [];

    public ulong AllocateTable(int size)
    {
        var bank = memory.Allocate(size, (ulong)Math.Max(size, PhysicalMemory.PageSize));
        lock (_lock)
        {
            _banks.Add(bank);
        }

        return bank.BaseAddress;
    }

    public ulong Read(ulong address) =>
        memory.TryReadUInt64(address, out ulong v) ? v : throw new InvalidOperationException($"table at 0x{address:x} is not backed");

    public void Write(ulong address, ulong value)
    {
        if (!memory.TryWriteUInt64(address, value))
        {
            throw new InvalidOperationException($"table at 0x{address:x} is not backed");
        }
    }

    /// <summary>Frees every table.</summary>
    public void Free()
    {
        lock (_lock)
        {
            foreach (var bank in _banks)
            {
                memory.Free(bank);
            }

            _banks.Clear();
        }
    }
}
