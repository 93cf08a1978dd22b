using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Guest;

namespace Iommufd.Vmm;

/// <summary>
/// The guest's SMMUv3: an emulated stage-1-only register interface whose queues live in guest RAM. A PROD write is
/// a trap: the VMM reads the new entries, installs nested HWPTs for CFGI_STE, forwards invalidations in batches —
/// one IOMMU_HWPT_INVALIDATE per batch — and on failure puts CONS.ERR on exactly the guest entry
/// <c>entry_num</c> points at. vEVENTQ records are copied into the guest's event queue.
/// </summary>
/// <remarks>
/// Processing runs on the trapping (vCPU) thread, as QEMU does, after the VM's <see cref="TrapCost"/> for the exit. Not modelled for the guest: MSIs, SEV, PRI, the
/// 2-level stream table. IDR1.SSIDSIZE is the widest PASID of the VM's devices; the guest's vSTE (with S1CDMax,
/// S1Fmt and S1DSS) goes to the host unchanged.
/// </remarks>
public sealed class VirtualSmmu : IMmio, IDisposable
{
    private const int MaxBatch = 128; // guest entries per ioctl
    private const uint OverflowFlag = 1u << 31;
    private const int QueueLog2Max = 10;

    private readonly VirtualMachine _vm;
    private readonly Lock _lock = new(); // guards the register file and queue processing (one vCPU trap at a time)
    private readonly UserRegion _scratch; // VMM memory the forwarded entries are copied into (the ioctl's data_uptr)
    private readonly (uint Position, SmmuCommand Command)[] _batch = new (uint, SmmuCommand)[MaxBatch];
    private readonly int _veventqFd;
    private uint _idr0, _idr1, _idr3, _idr5, _iidr, _aidr;
    private uint _cr0, _gbpa, _irqCtrl, _gerror, _gerrorn, _strtabBaseCfg;
    private ulong _strtabBase, _cmdqBase, _eventqBase;
    private uint _cmdqProd, _cmdqCons, _eventqProd, _eventqCons;
    private int _batchCount;
    private bool _atcTimeoutPending;

    internal VirtualSmmu(VirtualMachine vm)
    {
        _vm = vm;
        _scratch = vm.File.Memory.Map(MaxBatch * 16);
        ReadHostIdRegisters();
        var rc = vm.File.VeventqAlloc(vm.ViommuId, IommuVeventqType.ArmSmmuV3, vm.Options.EventQueueDepth, out _, out _veventqFd);
        rc.ThrowIfError("VEVENTQ_ALLOC ARM_SMMUV3");

        _gbpa = 1 << 20; // GBPA.ABORT: DMA blocked until the guest enables the SMMU
    }

    /// <summary>Raised when the guest's event queue received records (the guest's event interrupt).</summary>
    public event Action? EventInterrupt;

    /// <summary>Raised when a global error became active (the guest's GERROR interrupt).</summary>
    public event Action? GerrorInterrupt;

    /// <summary>What this front end did: guest commands, forwards, errors, STEs and events.</summary>
    public VmmCounters Counters { get; } = new();

    /// <summary>A guest load from the vSMMU's registers: emulated, and charged as a trap.</summary>
    public ulong Read(uint offset, int size = 4)
    {
        _vm.ChargeTrap(); // every vSMMU register is emulated: each access is an exit
        lock (_lock)
        {
            ulong value = offset switch
            {
                (uint)SmmuRegister.IDR0 => _idr0,
                (uint)SmmuRegister.IDR1 => _idr1,
                (uint)SmmuRegister.IDR3 => _idr3,
                (uint)SmmuRegister.IDR5 => _idr5,
                (uint)SmmuRegister.IIDR => _iidr,
                (uint)SmmuRegister.AIDR => _aidr,
                (uint)SmmuRegister.CR0 or (uint)SmmuRegister.CR0ACK => _cr0,
                (uint)SmmuRegister.GBPA => _gbpa,
                (uint)SmmuRegister.IRQ_CTRL or (uint)SmmuRegister.IRQ_CTRLACK => _irqCtrl,
                (uint)SmmuRegister.GERROR => _gerror,
                (uint)SmmuRegister.GERRORN => _gerrorn,
                (uint)SmmuRegister.STRTAB_BASE => _strtabBase,
                (uint)SmmuRegister.STRTAB_BASE_CFG => _strtabBaseCfg,
                (uint)SmmuRegister.CMDQ_BASE => _cmdqBase,
                (uint)SmmuRegister.CMDQ_PROD => _cmdqProd,
                (uint)SmmuRegister.CMDQ_CONS => _cmdqCons,
                (uint)SmmuRegister.EVENTQ_BASE => _eventqBase,
                (uint)SmmuRegister.EVENTQ_PROD or 0xA8 => _eventqProd,
                (uint)SmmuRegister.EVENTQ_CONS or 0xAC => _eventqCons,
                _ => 0,
            };
            return size == 8 ? value : (uint)value;
        }
    }

    /// <summary>
    /// A guest store to the vSMMU's registers: emulated (a CMDQ_PROD write runs the guest's new commands), and charged
    /// as a trap.
    /// </summary>
    public void Write(uint offset, ulong value, int size = 4)
    {
        uint v32 = (uint)value;
        _vm.ChargeTrap();
        lock (_lock)
        {
            switch (offset)
            {
                case (uint)SmmuRegister.CR0:
                    uint old = _cr0;
                    _cr0 = v32 & 0xD; // SMMUEN, EVENTQEN, CMDQEN
                    if (((old ^ _cr0) & 1) != 0)
                    {
                        ReattachAll();
                    }

                    ProcessCommandQueue();
                    break;
                case (uint)SmmuRegister.GBPA when (v32 & (1u << 31)) != 0:
                    _gbpa = v32 & ~(1u << 31);
                    ReattachAll();
                    break;
                case (uint)SmmuRegister.IRQ_CTRL:
                    _irqCtrl = v32 & 0x5;
                    break;
                case (uint)SmmuRegister.GERRORN:
                    _gerrorn = v32;
                    ProcessCommandQueue(); // fetch again from CONS once CMDQ_ERR is acknowledged
                    break;
                case (uint)SmmuRegister.STRTAB_BASE:
                    _strtabBase = value;
                    break;
                case (uint)SmmuRegister.STRTAB_BASE_CFG:
                    _strtabBaseCfg = v32;
                    break;
                case (uint)SmmuRegister.CMDQ_BASE:
                    _cmdqBase = value;
                    break;
                case (uint)SmmuRegister.CMDQ_PROD:
                    _cmdqProd = v32;
                    ProcessCommandQueue();
                    break;
                case (uint)SmmuRegister.CMDQ_CONS when (_cr0 & 8) == 0:
                    _cmdqCons = v32;
                    break;
                case (uint)SmmuRegister.EVENTQ_BASE:
                    _eventqBase = value;
                    break;
                case (uint)SmmuRegister.EVENTQ_CONS or 0xAC:
                    _eventqCons = v32;
                    break;
                case (uint)SmmuRegister.EVENTQ_PROD or 0xA8 when (_cr0 & 4) == 0:
                    _eventqProd = v32;
                    break;
            }
        }
    }

    /// <summary>
    /// Copies vEVENTQ records into the guest's event queue (dropping them with EVENTQ_PROD.OVFLG when it is full)
    /// and raises the guest's event interrupt. Returns the records delivered.
    /// </summary>
    public int DeliverEvents()
    {
        Span<byte> buffer = stackalloc byte[16 * (8 + SmmuEvent.Size)];
        int delivered = 0;
        while (_vm.File.Read(_veventqFd, buffer, out int count) == Errno.Success && count > 0)
        {
            for (int at = 0; at < count;)
            {
                var header = MemoryMarshal.Read<IommufdVeventHeader>(buffer[at..]);
                at += 8;
                Counters.NoteEventSequence(header);
                if ((header.Flags & (uint)IommuVeventqFlags.LostEvents) != 0)
                {
                    continue; // a lost-events header has no payload
                }

                delivered += WriteGuestEvent(buffer.Slice(at, SmmuEvent.Size)) ? 1 : 0;
                at += SmmuEvent.Size;
            }
        }

        if (delivered > 0 && (_irqCtrl & 4) != 0)
        {
            EventInterrupt?.Invoke();
        }

        return delivered;
    }

    /// <summary>Closes the vEVENTQ fd; the objects themselves go with the VM's file.</summary>
    public void Dispose()
    {
        _vm.File.Close(_veventqFd);
    }

    /// <summary>
    /// The guest's view of the host SMMU: only the fields the uAPI lets a VMM use (include/uapi/linux/iommufd.h struct
    /// iommu_hw_info_arm_smmuv3) and the devices' PASID widths, plus S1P, COHACC and the queue sizes this front end supports. No stage 2, MSI, SEV or
    /// 2-level tables for the guest.
    /// </summary>
    private void ReadHostIdRegisters()
    {
        var info = new IommuHwInfoArmSmmuV3();
        var rc = _vm.File.GetHwInfo(_vm.Devices[0].DevId, 0, IommuHwInfoType.Default, MemoryMarshal.AsBytes(new Span<IommuHwInfoArmSmmuV3>(ref info)), out _);
        rc.ThrowIfError("GET_HW_INFO");

        // SSIDSIZE: the widest PASID any of the VM's devices can use (GET_HW_INFO out_max_pasid_log2, already capped
        // at the host's SSIDSIZE), as QEMU's accelerated vSMMU checks its ssidsize against the host's. The guest
        // driver limits each device to its own PASID capability, and the host SMMU checks S1CDMax against its own.
        int ssidBits = 0;
        foreach (var d in _vm.Devices)
        {
            _vm.File.GetHwInfo(d.DevId, 0, IommuHwInfoType.Default, MemoryMarshal.AsBytes(new Span<IommuHwInfoArmSmmuV3>(ref info)), out var deviceInfo)
                .ThrowIfError("GET_HW_INFO");
            ssidBits = Math.Max(ssidBits, deviceInfo.MaxPasidLog2);
        }

        uint idr0 = info.Idr[0];
        const uint Idr0Usable = (3u << 2) /* TTF */ | (1u << 12) /* ASID16 */ | (1u << 19) /* CD2L */ | (3u << 21) /* TTENDIAN */
            | (3u << 24) /* STALL_MODEL */ | (1u << 26) /* TERM_MODEL */;
        bool ats = (idr0 & (1u << 10)) != 0 && _vm.Devices.Any(d => d.Device.AtsCapable);
        _idr0 = (idr0 & Idr0Usable) | (1u << 1) /* S1P */ | (1u << 4) /* COHACC */ | (ats ? 1u << 10 : 0);
        _idr1 = (info.Idr[1] & 0x3F) /* SIDSIZE */ | ((uint)ssidBits << 6) | ((uint)QueueLog2Max << 16) | ((uint)QueueLog2Max << 21);
        _idr3 = info.Idr[3] & ((3u << 11) | (1u << 10)); // BBML, RIL
        _idr5 = info.Idr[5] & (0x7u | (3u << 10) | 0x70); // OAS, VAX, GRAN4K/16K/64K
        _iidr = info.Iidr;
        _aidr = info.Aidr;
    }

    private void ReattachAll()
    {
        foreach (var d in _vm.Devices)
        {
            InstallSte(d);
        }
    }

    /// <summary>
    /// Makes the host follow the guest's STE for a device: SMMU disabled → GBPA; V = 0 or abort → the abort HWPT;
    /// bypass → the bypass HWPT; stage 1 → a new nested HWPT from the guest's words, attached before the old one is
    /// destroyed. A guest STE the host refuses is CERROR_ILL on the CFGI.
    /// </summary>
    private bool InstallSte(VmDevice device)
    {
        ulong w0 = 0, w1 = 0;
        if ((_cr0 & 1) != 0)
        {
            ulong ste = (_strtabBase & 0x000F_FFFF_FFFF_FFC0) + ((ulong)device.VirtualSid * 64);
            if (!_vm.Ram.Contains(ste, 16) || device.VirtualSid >> (int)(_strtabBaseCfg & 0x3F) != 0)
            {
                return Swap(device, _vm.AbortHwptId);
            }

            w0 = _vm.Ram.Read(ste);
            w1 = _vm.Ram.Read(ste + 8);
        }
        else
        {
            return Swap(device, (_gbpa & (1u << 20)) != 0 ? _vm.AbortHwptId : _vm.BypassHwptId);
        }

        ulong config = (w0 >> 1) & 7;
        if ((w0 & 1) == 0 || config == StreamTableEntry.ConfigAbort)
        {
            return Swap(device, _vm.AbortHwptId);
        }

        if (config == StreamTableEntry.ConfigBypass)
        {
            return Swap(device, _vm.BypassHwptId);
        }

        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = w0 & StreamTableEntry.NestingAllowedWord0;
        vste.Ste[1] = w1 & StreamTableEntry.NestingAllowedWord1;
        var rc = _vm.File.HwptAlloc(device.DevId, _vm.ViommuId, 0, IommuHwptDataType.ArmSmmuV3, MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste)), 0, out uint hwpt);
        if (rc != Errno.Success)
        {
            return false;
        }

        if (!Swap(device, hwpt))
        {
            _vm.File.Destroy(hwpt);
            return false;
        }

        device.OwnedStage1Hwpt = hwpt;
        return true;
    }

    private bool Swap(VmDevice device, uint hwpt)
    {
        uint previous = device.OwnedStage1Hwpt;
        if (device.AttachedHwpt != hwpt && _vm.Attach(device, hwpt) != Errno.Success)
        {
            return false;
        }

        if (previous != 0 && previous != hwpt)
        {
            _vm.File.Destroy(previous);
            device.OwnedStage1Hwpt = 0;
        }

        Counters.SteInstalls++;
        return true;
    }

    /// <summary>The trap handler for the guest's command queue.</summary>
    private void ProcessCommandQueue()
    {
        if ((_cr0 & 8) == 0 || ((_gerror ^ _gerrorn) & 1) != 0)
        {
            return;
        }

        int log2 = Math.Min((int)(_cmdqBase & 0x1F), QueueLog2Max);
        uint mask = (2u << log2) - 1;
        ulong baseIpa = _cmdqBase & 0x000F_FFFF_FFFF_FFE0;
        uint cursor = _cmdqCons & mask;
        _batchCount = 0;
        Span<byte> entry = stackalloc byte[16];
        while (cursor != (_cmdqProd & mask))
        {
            ulong slot = baseIpa + ((cursor & ((1u << log2) - 1)) * 16UL);
            if (!_vm.Ram.Contains(slot, 16))
            {
                Fail(cursor, CommandError.CERROR_ABT);
                return;
            }

            var command = SmmuCommand.Read(_vm.Ram.Bytes(slot, 16));
            Counters.GuestCommands++;
            var error = CommandError.CERROR_NONE;
            switch (command.Opcode)
            {
                case var op when GuestCommandConverter.IsForwardable(op):
                    _batch[_batchCount++] = (cursor, command);
                    if (_batchCount == MaxBatch)
                    {
                        error = Flush(out uint at, syncPosition: null);
                        if (error != CommandError.CERROR_NONE)
                        {
                            Fail(at, error);
                            return;
                        }
                    }

                    break;
                case SmmuOpcode.CMD_SYNC:
                {
                    error = Flush(out uint at, syncPosition: cursor);
                    if (error != CommandError.CERROR_NONE)
                    {
                        Fail(at, error);
                        return;
                    }

                    if (command.Cs == 3)
                    {
                        Fail(cursor, CommandError.CERROR_ILL);
                        return;
                    }

                    Counters.GuestSyncs++;
                    break;
                }

                case SmmuOpcode.CFGI_STE:
                case SmmuOpcode.CFGI_STE_RANGE:
                {
                    // Configuration commands are ordered with the invalidations around them.
                    error = Flush(out uint at, syncPosition: null);
                    if (error != CommandError.CERROR_NONE)
                    {
                        Fail(at, error);
                        return;
                    }

                    if (!InstallStes(command))
                    {
                        Fail(cursor, CommandError.CERROR_ILL);
                        return;
                    }

                    break;
                }

                case SmmuOpcode.PREFETCH_CONFIG:
                case SmmuOpcode.PREFETCH_ADDR:
                    break;
                default:
                    // What a stage-1-only SMMU without HYP, PRI or stalls refuses (Arm IHI 0070 §4.1.6 and each
                    // command's section).
                    error = Flush(out uint at2, syncPosition: null);
                    Fail(error != CommandError.CERROR_NONE ? at2 : cursor, error != CommandError.CERROR_NONE ? error : CommandError.CERROR_ILL);
                    return;
            }

            cursor = (cursor + 1) & mask;
            if (_batchCount == 0)
            {
                _cmdqCons = cursor; // everything up to here is complete
            }
        }

        var last = Flush(out uint failedAt, syncPosition: null);
        if (last != CommandError.CERROR_NONE)
        {
            Fail(failedAt, last);
            return;
        }

        _cmdqCons = cursor;
    }

    /// <summary>
    /// Forwards the gathered invalidations with one IOMMU_HWPT_INVALIDATE. On failure <paramref name="failedAt"/> is
    /// the guest position to stop at: the entry <c>entry_num</c> names, or — for an ATC invalidation timeout — the
    /// CMD_SYNC that ended the batch (the guest's CMD_SYNC is where the spec reports CERROR_ATC_INV_SYNC).
    /// </summary>
    private CommandError Flush(out uint failedAt, uint? syncPosition)
    {
        failedAt = 0;
        if (_batchCount == 0)
        {
            if (syncPosition is uint sp && _atcTimeoutPending)
            {
                _atcTimeoutPending = false;
                failedAt = sp;
                return CommandError.CERROR_ATC_INV_SYNC;
            }

            return CommandError.CERROR_NONE;
        }

        var bytes = _scratch.Span;
        for (int i = 0; i < _batchCount; i++)
        {
            _batch[i].Command.Write(bytes[(i * 16)..]);
        }

        var cmd = new IommuHwptInvalidate
        {
            Size = (uint)Unsafe.SizeOf<IommuHwptInvalidate>(),
            HwptId = _vm.ViommuId,
            DataUptr = _scratch.Address,
            DataType = (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3,
            EntryLen = 16,
            EntryNum = (uint)_batchCount,
        };
        var rc = _vm.File.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, MemoryMarshal.AsBytes(new Span<IommuHwptInvalidate>(ref cmd)));
        Counters.Ioctls++;
        Counters.ForwardedCommands += cmd.EntryNum;
        int count = _batchCount;
        _batchCount = 0;
        if (rc == Errno.Success)
        {
            return CommandError.CERROR_NONE;
        }

        Counters.ForwardErrors++;
        if (rc == Errno.ETIMEDOUT)
        {
            if (syncPosition is uint sync)
            {
                failedAt = sync;
                return CommandError.CERROR_ATC_INV_SYNC;
            }

            _atcTimeoutPending = true; // reported by the guest's next CMD_SYNC
            return CommandError.CERROR_NONE;
        }

        failedAt = _batch[(int)Math.Min(cmd.EntryNum, (uint)count - 1)].Position;
        return CommandError.CERROR_ILL;
    }

    /// <summary>Stops the queue on <paramref name="position"/> with CONS.ERR and activates GERROR.CMDQ_ERR.</summary>
    private void Fail(uint position, CommandError error)
    {
        _batchCount = 0;
        _cmdqCons = position | ((uint)error << 24);
        Counters.GuestErrors++;
        if (((_gerror ^ _gerrorn) & 1) == 0)
        {
            _gerror ^= 1;
            if ((_irqCtrl & 1) != 0)
            {
                GerrorInterrupt?.Invoke();
            }
        }
    }

    private bool InstallStes(in SmmuCommand command)
    {
        uint first = command.StreamId, last = command.StreamId;
        if (command.Opcode == SmmuOpcode.CFGI_STE_RANGE)
        {
            uint span = command.Range >= 31 ? uint.MaxValue : (2u << command.Range) - 1;
            first &= ~span;
            last = first | span;
        }

        bool ok = true;
        foreach (var d in _vm.Devices)
        {
            if (d.VirtualSid >= first && d.VirtualSid <= last)
            {
                ok &= InstallSte(d);
            }
        }

        return ok;
    }

    private bool WriteGuestEvent(ReadOnlySpan<byte> record)
    {
        lock (_lock)
        {
            if ((_cr0 & 4) == 0)
            {
                Counters.EventsDropped++;
                return false;
            }

            int log2 = Math.Min((int)(_eventqBase & 0x1F), QueueLog2Max);
            uint mask = (2u << log2) - 1;
            bool full = ((_eventqProd ^ _eventqCons) & mask) == 1u << log2;
            if (full)
            {
                Counters.EventsDropped++;
                if ((_eventqProd & OverflowFlag) == (_eventqCons & OverflowFlag))
                {
                    _eventqProd ^= OverflowFlag; // spec §7.4: one overflow flag toggle until acknowledged
                }

                return false;
            }

            ulong slot = (_eventqBase & 0x000F_FFFF_FFFF_FFE0) + ((_eventqProd & ((1u << log2) - 1)) * (ulong)SmmuEvent.Size);
            if (!_vm.Ram.Contains(slot, SmmuEvent.Size))
            {
                Counters.EventsDropped++;
                return false;
            }

            record.CopyTo(_vm.Ram.Bytes(slot, SmmuEvent.Size));
            _eventqProd = (_eventqProd & OverflowFlag) | ((_eventqProd + 1) & mask);
            Counters.EventsDelivered++;
            return true;
        }
    }

}
