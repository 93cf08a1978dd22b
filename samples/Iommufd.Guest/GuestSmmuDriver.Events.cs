using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

// The event queue (Arm IHI 0070 §7.4): the SMMU produces 32-byte records at EVENTQ_PROD; the driver
// consumes them and moves EVENTQ_CONS. A record that met a full queue was dropped and EVENTQ_PROD.OVFLG toggled;
// the driver acknowledges by copying OVFLG into EVENTQ_CONS.OVACKFLG, which lets the SMMU report the next overflow.
public sealed partial class GuestSmmuDriver
{
    private const uint OverflowFlag = 1u << 31; // EVENTQ_PROD.OVFLG and EVENTQ_CONS.OVACKFLG

    private readonly Lock _eventLock = new(); // guards _eventCons and the counters below
    private uint _eventCons; // index, wrap bit and OVACKFLG as last written
    private long _eventsRead;
    private long _eventQueueOverflows;

    /// <summary>Event records read so far.</summary>
    public long EventsRead => Interlocked.Read(ref _eventsRead);

    /// <summary>Overflows seen (records the SMMU had to drop since the previous acknowledgement).</summary>
    public long EventQueueOverflows => Interlocked.Read(ref _eventQueueOverflows);

    /// <summary>
    /// Drains the event queue: every record between CONS and the PROD read at the start, oldest first. An overflow
    /// flagged in PROD is counted and acknowledged.
    /// </summary>
    public IReadOnlyList<SmmuEvent> ReadEvents()
    {
        lock (_eventLock)
        {
            uint indexWrapMask = (2u << EventQueueLog2Entries) - 1;
            uint indexMask = (1u << EventQueueLog2Entries) - 1;
            uint prod = Read(SmmuRegister.EVENTQ_PROD);
            uint cons = _eventCons & indexWrapMask;
            var events = new List<SmmuEvent>((int)((prod - cons) & indexWrapMask));
            while (((prod ^ cons) & indexWrapMask) != 0)
            {
                ulong ipa = EventQueueIpa + ((cons & indexMask) * (ulong)SmmuEvent.Size);
                events.Add(SmmuEvent.Read(_memory.Bytes(ipa, SmmuEvent.Size)));
                cons = (cons + 1) & indexWrapMask;
            }

            if (((prod ^ _eventCons) & OverflowFlag) != 0)
            {
                Interlocked.Increment(ref _eventQueueOverflows); // records were lost before these were read
            }

            // Free the slots and acknowledge any overflow in one write.
            _eventCons = cons | (prod & OverflowFlag);
            Write(SmmuRegister.EVENTQ_CONS, _eventCons);
            Interlocked.Add(ref _eventsRead, events.Count);
            return events;
        }
    }
}
