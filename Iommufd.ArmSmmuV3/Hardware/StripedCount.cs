using System.Numerics;
using System.Runtime.InteropServices;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// A count that consumers on several cores add to at once without passing one cache line between them: one padded
/// slot per processor (modulo the slots), summed when read. An add is an interlocked increment of a line the adding
/// core mostly holds already; a read is exact once the adders have stopped, and never less than what finished
/// before it.
/// </summary>
internal sealed class StripedCount
{
    private readonly Slot[] _slots = new Slot[Math.Min(BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount), 64)];

    public void Increment() => Interlocked.Increment(ref _slots[Thread.GetCurrentProcessorId() & (_slots.Length - 1)].Value);

    public long Read()
    {
        long sum = 0;
        foreach (ref readonly var slot in _slots.AsSpan())
        {
            sum += Volatile.Read(in slot.Value);
        }

        return sum;
    }

    [StructLayout(LayoutKind.Explicit, Size = (2 * CacheLine.Padding) + 8)]
    private struct Slot
    {
        [FieldOffset(CacheLine.Padding)]
        public long Value;
    }
}
