namespace Iommufd.ArmSmmuV3.Hardware;

// The event queue (spec §7.4): 32-byte records written at PROD; a record that meets a full queue is dropped
// and EVENTQ_PROD.OVFLG toggles, unless an earlier overflow is still unacknowledged (CONS.OVACKFLG).
internal sealed partial class SmmuV3
{
    private const uint OverflowFlag = 1u << 31;

    private readonly Lock _eventLock = new(); // one event producer at a time: the SMMU's writes of _eventqProd and of the record slots
    private ulong _eventqBase;
    private uint _eventqProd;
    private uint _eventqCons;
    private long _eventsDropped;

    /// <summary>Events lost: queue full, or event queue disabled.</summary>
    public long EventsDropped => Interlocked.Read(ref _eventsDropped);

    /// <summary>Writes an event record, or drops it as the specification says when the queue cannot take it.</summary>
    public void RecordEvent(in SmmuEvent record)
    {
        bool raise = false;
        lock (_eventLock)
        {
            if ((Cr0 & Cr0EventqEn) == 0)
            {
                Interlocked.Increment(ref _eventsDropped);
                return;
            }

            int log2 = Math.Min((int)(_eventqBase & 0x1F), Features.EventqLog2Size);
            uint indexWrap = (2u << log2) - 1;
            uint prod = Volatile.Read(ref _eventqProd);
            uint cons = Volatile.Read(ref _eventqCons);
            bool full = ((prod ^ cons) & indexWrap) == (1u << log2);
            if (full)
            {
                Interlocked.Increment(ref _eventsDropped);
                if ((prod & OverflowFlag) == (cons & OverflowFlag))
                {
                    Volatile.Write(ref _eventqProd, prod ^ OverflowFlag);
                    raise = true;
                }
            }
            else
            {
                ulong address = (_eventqBase & CommandQueue.BaseAddressMask) + ((prod & ((1u << log2) - 1)) * (ulong)SmmuEvent.Size);
                Span<byte> bytes = stackalloc byte[SmmuEvent.Size];
                record.Write(bytes);
                if (!_memory.TryWrite(address, bytes))
                {
                    Interlocked.Increment(ref _eventsDropped);
                    RaiseGlobalError(GlobalError.EVENTQ_ABT_ERR);
                    return;
                }

                Volatile.Write(ref _eventqProd, (prod & OverflowFlag) | ((prod + 1) & indexWrap));
                raise = true;
            }
        }

        if (raise && (_irqCtrl & IrqCtrlEventq) != 0)
        {
            Raise(SmmuInterrupt.EventQueue);
        }
    }
}
