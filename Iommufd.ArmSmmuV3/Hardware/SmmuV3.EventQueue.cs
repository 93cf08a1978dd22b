namespace Iommufd.ArmSmmuV3.Hardware;

// The event queue (spec §7.4): 32-byte records written at PROD; a record that meets a full queue is dropped
// and EVENTQ_PROD.OVFLG toggles, unless an earlier overflow is still unacknowledged (CONS.OVACKFLG).
//
// A fault's record is written while its transaction is still in flight, so a CMD_SYNC that waits for the
// transaction also finds its record in the queue (spec §4.7.3: the events of transactions terminated before a
// CMD_SYNC completes are visible when it does). The interrupt the record asks for is only owed there and is
// raised once the transaction has left the in-flight set (SignalEvents): the terminated transaction does not wait
// for software to take its event, as an SMMU's does not (IHI 0070 §3.12: with no stall model the transaction is
// terminated and the event recorded), so a driver's event handler that needs a lock a CMD_SYNC's issuer holds
// never stalls that CMD_SYNC. QEMU likewise decides a translation under its SMMU's lock and records the event
// after (hw/arm/smmuv3.c smmuv3_translate()), and its interrupt is a line pulse, not a call into the guest.
internal sealed partial class SmmuV3
{
    private const uint OverflowFlag = 1u << 31;
    private const int OwesEventq = 1;
    private const int OwesGerror = 2;

    private readonly Lock _eventLock = new(); // one event producer at a time: the SMMU's writes of _eventqProd and of the record slots
    private ulong _eventqBase;
    private uint _eventqProd;
    private uint _eventqCons;
    private long _eventsDropped;
    private int _owedInterrupts; // OwesEventq | OwesGerror: what records written since the last SignalEvents owe (interlocked)

    /// <summary>Events lost: queue full, or event queue disabled.</summary>
    public long EventsDropped => Interlocked.Read(ref _eventsDropped);

    /// <summary>
    /// Writes an event record, or drops it as the specification says when the queue cannot take it; the interrupt
    /// this owes is raised by the next <see cref="SignalEvents"/>, which every translation that failed calls once
    /// it is no longer in flight.
    /// </summary>
    private void RecordEvent(in SmmuEvent record)
    {
        int owed = 0;
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
                    owed = OwesEventq;
                }
            }
            else
            {
                ulong address = (_eventqBase & CommandQueue.BaseAddressMask) + ((prod & ((1u << log2) - 1)) * (ulong)SmmuEvent.Size);
                Span<byte> bytes = stackalloc byte[SmmuEvent.Size];
                record.Write(bytes);
                if (_memory.TryWrite(address, bytes))
                {
                    Volatile.Write(ref _eventqProd, (prod & OverflowFlag) | ((prod + 1) & indexWrap));
                    owed = OwesEventq;
                }
                else
                {
                    Interlocked.Increment(ref _eventsDropped);
                    owed = ActivateGlobalError(GlobalError.EVENTQ_ABT_ERR) ? OwesGerror : 0;
                }
            }

            // After PROD is published: a SignalEvents that takes this sees the record when its handler reads PROD.
            if (owed != 0)
            {
                Interlocked.Or(ref _owedInterrupts, owed);
            }
        }
    }

    /// <summary>
    /// Raises the interrupts owed by the records written so far (by any transaction), each once, where IRQ_CTRL
    /// enables it. Called outside every transaction's in-flight window; the handlers run on the calling thread.
    /// </summary>
    private void SignalEvents()
    {
        if (Volatile.Read(ref _owedInterrupts) == 0)
        {
            return; // nothing owed, or an earlier call on another thread took it and raises it
        }

        int owed = Interlocked.Exchange(ref _owedInterrupts, 0);
        if ((owed & OwesGerror) != 0 && (_irqCtrl & IrqCtrlGerror) != 0)
        {
            Raise(SmmuInterrupt.Gerror);
        }

        if ((owed & OwesEventq) != 0 && (_irqCtrl & IrqCtrlEventq) != 0)
        {
            Raise(SmmuInterrupt.EventQueue);
        }
    }
}
