namespace Iommufd.ArmSmmuV3.Hardware;

// Register file (spec §6.3). Accesses are 32 or 64 bits; 64-bit registers may also be accessed as two halves.
internal sealed partial class SmmuV3
{
    internal const uint Cr0SmmuEn = 1 << 0;
    internal const uint Cr0EventqEn = 1 << 2;
    internal const uint Cr0CmdqEn = 1 << 3;
    internal const uint Cr2RecInvSid = 1 << 1;
    internal const uint Cr2Ptm = 1 << 2;
    private const uint GbpaAbort = 1 << 20;
    private const uint GbpaUpdate = 1u << 31;
    private const uint IrqCtrlGerror = 1 << 0;
    private const uint IrqCtrlEventq = 1 << 2;

    private readonly Lock _registerLock = new(); // guards the read-modify-writes of _cr0 (to see EN edges) and _gerror (toggled by the SMMU's threads); the other registers have one writer, the driver
    private uint _cr0;
    private uint _cr1;
    private uint _cr2;
    private uint _gbpa;
    private uint _irqCtrl;
    private uint _gerror;
    private uint _gerrorn;
    private ulong _strtabBase;
    private uint _strtabBaseCfg;
    private ulong _gerrorIrqCfg0;
    private ulong _eventqIrqCfg0;

    internal uint Cr0 => Volatile.Read(ref _cr0);

    /// <summary>GERROR: toggled by the SMMU when an error becomes active.</summary>
    public uint Gerror => Volatile.Read(ref _gerror);

    /// <summary>GERRORN: toggled by software to acknowledge.</summary>
    public uint Gerrorn => Volatile.Read(ref _gerrorn);

    /// <summary>Reads a 32- or 64-bit register at <paramref name="offset"/> (page 1 at 0x10000).</summary>
    public ulong ReadRegister(uint offset, int size = 4)
    {
        ulong value = offset switch
        {
            (uint)SmmuRegister.IDR0 => Features.Idr0,
            (uint)SmmuRegister.IDR1 => Features.Idr1,
            (uint)SmmuRegister.IDR3 => Features.Idr3,
            (uint)SmmuRegister.IDR5 => Features.Idr5,
            (uint)SmmuRegister.IIDR => Features.Iidr,
            (uint)SmmuRegister.AIDR => Features.Aidr,
            (uint)SmmuRegister.CR0 or (uint)SmmuRegister.CR0ACK => Cr0,
            (uint)SmmuRegister.CR1 => _cr1,
            (uint)SmmuRegister.CR2 => _cr2,
            (uint)SmmuRegister.GBPA => _gbpa,
            (uint)SmmuRegister.IRQ_CTRL or (uint)SmmuRegister.IRQ_CTRLACK => _irqCtrl,
            (uint)SmmuRegister.GERROR => Gerror,
            (uint)SmmuRegister.GERRORN => Gerrorn,
            (uint)SmmuRegister.GERROR_IRQ_CFG0 => _gerrorIrqCfg0,
            (uint)SmmuRegister.STRTAB_BASE => _strtabBase,
            (uint)SmmuRegister.STRTAB_BASE_CFG => _strtabBaseCfg,
            (uint)SmmuRegister.CMDQ_BASE => CommandQueue.Base,
            (uint)SmmuRegister.CMDQ_PROD => CommandQueue.Prod,
            (uint)SmmuRegister.CMDQ_CONS => CommandQueue.Cons,
            (uint)SmmuRegister.EVENTQ_BASE => _eventqBase,
            (uint)SmmuRegister.EVENTQ_IRQ_CFG0 => _eventqIrqCfg0,
            (uint)SmmuRegister.EVENTQ_PROD or 0xA8 => Volatile.Read(ref _eventqProd),
            (uint)SmmuRegister.EVENTQ_CONS or 0xAC => Volatile.Read(ref _eventqCons),
            _ => 0, // RES0 or not modelled
        };
        return size == 8 ? value : (uint)value;
    }

    /// <summary>Writes a 32- or 64-bit register at <paramref name="offset"/>; doorbells take effect at once.</summary>
    public void WriteRegister(uint offset, ulong value, int size = 4)
    {
        uint v32 = (uint)value;
        switch (offset)
        {
            case (uint)SmmuRegister.CR0:
                uint old;
                lock (_registerLock)
                {
                    old = _cr0;
                    Volatile.Write(ref _cr0, v32 & 0x1DF);
                }

                if ((v32 & Cr0CmdqEn) != 0 && (old & Cr0CmdqEn) == 0)
                {
                    EnableCommandQueue();
                }

                if ((v32 & Cr0SmmuEn) == 0 && (old & Cr0SmmuEn) != 0)
                {
                    ConfigCache.Clear();
                }

                break;
            case (uint)SmmuRegister.CR1:
                _cr1 = v32;
                break;
            case (uint)SmmuRegister.CR2:
                _cr2 = v32 & 0x7; // E2H, RECINVSID, PTM
                break;
            case (uint)SmmuRegister.GBPA:
                if ((v32 & GbpaUpdate) != 0)
                {
                    _gbpa = v32 & ~GbpaUpdate;
                }

                break;
            case (uint)SmmuRegister.IRQ_CTRL:
                _irqCtrl = v32 & 0x7;
                break;
            case (uint)SmmuRegister.GERRORN:
                Volatile.Write(ref _gerrorn, v32 & 0x7FD);
                if (!IsErrorActive(GlobalError.CMDQ_ERR))
                {
                    KickCommandQueue(); // the SMMU fetches again from CONS (spec §7.1)
                }

                break;
            case (uint)SmmuRegister.GERROR_IRQ_CFG0:
                _gerrorIrqCfg0 = value;
                break;
            case (uint)SmmuRegister.STRTAB_BASE:
                _strtabBase = size == 8 ? value : (_strtabBase & ~0xFFFF_FFFFUL) | v32;
                break;
            case (uint)SmmuRegister.STRTAB_BASE + 4:
                _strtabBase = (_strtabBase & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
                break;
            case (uint)SmmuRegister.STRTAB_BASE_CFG:
                _strtabBaseCfg = v32;
                break;
            case (uint)SmmuRegister.CMDQ_BASE:
                CommandQueue.Base = size == 8 ? value : (CommandQueue.Base & ~0xFFFF_FFFFUL) | v32;
                break;
            case (uint)SmmuRegister.CMDQ_BASE + 4:
                CommandQueue.Base = (CommandQueue.Base & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
                break;
            case (uint)SmmuRegister.CMDQ_PROD:
                CommandQueue.Prod = v32;
                KickCommandQueue();
                break;
            case (uint)SmmuRegister.CMDQ_CONS:
                if ((Cr0 & Cr0CmdqEn) == 0)
                {
                    CommandQueue.Cons = v32; // read-only while the queue is enabled (spec §6.3.28)
                }

                break;
            case (uint)SmmuRegister.EVENTQ_BASE:
                _eventqBase = size == 8 ? value : (_eventqBase & ~0xFFFF_FFFFUL) | v32;
                break;
            case (uint)SmmuRegister.EVENTQ_BASE + 4:
                _eventqBase = (_eventqBase & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
                break;
            case (uint)SmmuRegister.EVENTQ_IRQ_CFG0:
                _eventqIrqCfg0 = value;
                break;
            case (uint)SmmuRegister.EVENTQ_PROD or 0xA8:
                if ((Cr0 & Cr0EventqEn) == 0)
                {
                    Volatile.Write(ref _eventqProd, v32);
                }

                break;
            case (uint)SmmuRegister.EVENTQ_CONS or 0xAC:
                Volatile.Write(ref _eventqCons, v32);
                break;
            default:
                break; // RES0, read-only or not modelled: writes are ignored
        }
    }

    /// <summary>True while error <paramref name="error"/> is active (GERROR and GERRORN differ in its bit).</summary>
    public bool IsErrorActive(GlobalError error) => ((Gerror ^ Gerrorn) & (uint)error) != 0;

    /// <summary>Activates a global error: GERROR toggles only if the error is not already active (spec §6.3.19).</summary>
    private void RaiseGlobalError(GlobalError error)
    {
        if (ActivateGlobalError(error) && (_irqCtrl & IrqCtrlGerror) != 0)
        {
            Raise(SmmuInterrupt.Gerror);
        }
    }

    /// <summary>Toggles GERROR for <paramref name="error"/> unless it is active already; true when it toggled.</summary>
    private bool ActivateGlobalError(GlobalError error)
    {
        lock (_registerLock)
        {
            if (IsErrorActive(error))
            {
                return false;
            }

            Volatile.Write(ref _gerror, _gerror ^ (uint)error);
            return true;
        }
    }
}
