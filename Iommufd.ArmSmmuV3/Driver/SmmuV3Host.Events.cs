using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.ArmSmmuV3.Driver;

// Interrupts: the event queue is drained and faults of devices owned by a guest are relayed to the vIOMMU's
// vEVENTQ with the StreamID rewritten to the vSID (arm-smmu-v3-iommufd.c arm_vmaster_report_event()). Only
// records with S2 = 0 go to a guest (arm-smmu-v3.c arm_smmu_handle_event()): a stage-2 fault is the host's, its
// IPA an address of the host's stage 2, so it is logged and counted and never relayed.
internal sealed partial class SmmuV3Host
{
    private const uint OverflowFlag = 1u << 31;

    private readonly Lock _eventDrainLock = new(); // one drainer at a time: the driver's reads of the event queue and writes of EVENTQ_CONS
    private long _stage2Faults;

    /// <summary>Stage-2 faults of devices owned by a guest, which the host kept.</summary>
    public long Stage2FaultsKept => Interlocked.Read(ref _stage2Faults);

    /// <summary>Every event the host read, relayed or not (for diagnostics and tests).</summary>
    public event Action<SmmuEvent>? EventReceived;

    /// <summary>Event IDs a guest may see (include/uapi/linux/iommufd.h struct iommu_vevent_arm_smmuv3).</summary>
    private static bool IsForwarded(SmmuEventId id) => id is SmmuEventId.C_BAD_STE or SmmuEventId.F_STREAM_DISABLED
        or SmmuEventId.C_BAD_SUBSTREAMID or SmmuEventId.C_BAD_CD or SmmuEventId.F_TRANSLATION or SmmuEventId.F_ADDR_SIZE
        or SmmuEventId.F_ACCESS or SmmuEventId.F_PERMISSION;

    private void OnInterrupt(SmmuInterrupt interrupt)
    {
        switch (interrupt)
        {
            case SmmuInterrupt.EventQueue:
                DrainEvents();
                break;
            case SmmuInterrupt.Gerror:
                // Command-queue errors are fixed and acknowledged by the waiting issuers; acknowledge the others here,
                // without waiting for a writer at work (see SmmuV3Host.GlobalErrors.cs).
                AcknowledgeGlobalErrors(~GlobalError.CMDQ_ERR & AllGlobalErrors, waitForTurn: false);
                break;
        }
    }

    private void DrainEvents()
    {
        lock (_eventDrainLock)
        {
            uint mask = (2u << EventQueueLog2Size) - 1;
            Span<byte> record = stackalloc byte[SmmuEvent.Size];
            uint prod = (uint)Hardware.ReadRegister((uint)SmmuRegister.EVENTQ_PROD);
            uint cons = (uint)Hardware.ReadRegister((uint)SmmuRegister.EVENTQ_CONS);
            while (((prod ^ cons) & mask) != 0)
            {
                ulong slot = _eventQueueMemory.BaseAddress + ((cons & ((1u << EventQueueLog2Size) - 1)) * (ulong)SmmuEvent.Size);
                if (_memory.TryRead(slot, record))
                {
                    Relay(SmmuEvent.Read(record));
                }

                cons = (cons & OverflowFlag) | ((cons + 1) & mask);
            }

            if ((prod & OverflowFlag) != (cons & OverflowFlag))
            {
                Log.EventQueueOverflow(_logger, Name);
                cons = (cons & ~OverflowFlag) | (prod & OverflowFlag); // acknowledge the overflow
            }

            Hardware.WriteRegister((uint)SmmuRegister.EVENTQ_CONS, cons);
        }
    }

    private void Relay(in SmmuEvent record)
    {
        EventReceived?.Invoke(record);
        SmmuV3Viommu? vmaster;
        ulong vsid;
        lock (_mastersLock)
        {
            if (!_masters.TryGetValue(record.StreamId, out var master) || master.Vmaster is null)
            {
                Log.EventNotRelayed(_logger, Name, record, "the device has no vDEVICE");
                return;
            }

            vmaster = master.Vmaster;
            vsid = master.VirtualSid;
        }

        if (!IsForwarded(record.Id))
        {
            Log.EventNotRelayed(_logger, Name, record, "not an event a guest may see");
            return;
        }

        if (record.Stage2)
        {
            Interlocked.Increment(ref _stage2Faults);
            Metrics.RecordStage2Fault(Name);
            Log.Stage2Fault(_logger, Name, record);
            return;
        }

        var guest = record.WithStreamId((uint)vsid);
        Span<byte> payload = stackalloc byte[SmmuEvent.Size];
        guest.Write(payload);
        _ = vmaster.Context.ReportEvent(IommuVeventqType.ArmSmmuV3, payload); // no vEVENTQ: dropped, as the kernel drops it
    }
}
