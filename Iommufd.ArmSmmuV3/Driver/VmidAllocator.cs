namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>Hands out VMIDs (or ASIDs) 1..max; 0 is kept for bypass and stage-1-only configurations.</summary>
internal sealed class VmidAllocator(int bits)
{
    private readonly Lock _lock = new(); // guards _used and _next
    private readonly HashSet<ushort> _used = [];
    private int _next = 1;

    public bool TryAllocate(out ushort vmid)
    {
        int max = (1 << bits) - 1;
        lock (_lock)
        {
            for (int tries = 0; tries < max; tries++)
            {
                int candidate = _next;
                _next = _next >= max ? 1 : _next + 1;
                if (_used.Add((ushort)candidate))
                {
                    vmid = (ushort)candidate;
                    return true;
                }
            }
        }

        vmid = 0;
        return false;
    }

    public void Free(ushort vmid)
    {
        lock (_lock)
        {
            _used.Remove(vmid);
        }
    }
}
