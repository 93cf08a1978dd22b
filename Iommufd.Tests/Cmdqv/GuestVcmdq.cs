using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// The guest driver's side of one LVCMDQ: entries written into guest RAM at its own PROD, PROD rung through the
/// mmapped VINTF page (<see cref="CmdqvGuest.Registers"/>), and CONS, CONS.ERR, GERROR and GERRORN read and written there (tegra241-cmdqv.c
/// TEGRA241_VCMDQ_*; Arm IHI 0070 §3.5, §7.1).
/// </summary>
internal sealed class GuestVcmdq
{
    private readonly CmdqvGuest _guest;
    private readonly ulong _ipa;

    public GuestVcmdq(CmdqvGuest guest, uint index, uint hwQueueId, ulong ipa, int log2Entries)
    {
        _guest = guest;
        _ipa = ipa;
        Index = index;
        HwQueueId = hwQueueId;
        Log2Entries = log2Entries;
    }

    public uint Index { get; }

    public uint HwQueueId { get; }

    public int Log2Entries { get; }

    public uint Entries => 1u << Log2Entries;

    /// <summary>Index and wrap bit.</summary>
    public uint WrapMask => (2u << Log2Entries) - 1;

    /// <summary>The guest's producer index (index + wrap bit): the next entry it writes.</summary>
    public uint Prod { get; private set; }

    /// <summary>Entries the guest has written since the queue was allocated.</summary>
    public long Written { get; private set; }

    /// <summary>The CONS register as the guest reads it (index, wrap and ERR).</summary>
    public uint ConsRegister => Read(CmdqvRegister.VCMDQ_CONS);

    /// <summary>CONS without ERR: index and wrap bit.</summary>
    public uint Cons => ConsRegister & WrapMask;

    /// <summary>CONS.ERR [30:24].</summary>
    public CommandError Error => (CommandError)((ConsRegister >> 24) & 0x7F);

    public uint Gerror => Read(CmdqvRegister.VCMDQ_GERROR);

    public uint Gerrorn => Read(CmdqvRegister.VCMDQ_GERRORN);

    /// <summary>GERROR.CMDQ_ERR ≠ GERRORN.CMDQ_ERR.</summary>
    public bool ErrorActive => ((Gerror ^ Gerrorn) & 1) != 0;

    /// <summary>Empty: CONS has caught up with the guest's PROD.</summary>
    public bool Drained => Cons == Prod;

    /// <summary>The index+wrap value after <paramref name="entries"/> entries from the start of the queue.</summary>
    public uint After(long entries) => (uint)(entries & WrapMask);

    public void Enable() => Write(CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);

    /// <summary>Writes entries at PROD (without ringing). The caller keeps within the free space.</summary>
    public void Put(params ReadOnlySpan<SmmuCommand> commands)
    {
        foreach (var c in commands)
        {
            c.Write(_guest.Ram.Bytes(Slot(Prod), 16));
            Prod = (Prod + 1) & WrapMask;
            Written++;
        }
    }

    /// <summary>Writes PROD to the VCMDQ (the doorbell).</summary>
    public void Ring() => Write(CmdqvRegister.VCMDQ_PROD, Prod);

    /// <summary>Writes <paramref name="commands"/> and rings PROD.</summary>
    public void Submit(params ReadOnlySpan<SmmuCommand> commands)
    {
        Put(commands);
        Ring();
    }

    /// <summary>Replaces the entry CONS stops on (what a driver does with a CERROR_ILL entry).</summary>
    public void ReplaceAtCons(SmmuCommand command) => command.Write(_guest.Ram.Bytes(Slot(Cons), 16));

    /// <summary>Acknowledges the queue error: GERRORN.CMDQ_ERR toggled to equal GERROR.CMDQ_ERR.</summary>
    public void Acknowledge() => Write(CmdqvRegister.VCMDQ_GERRORN, Gerror);

    /// <summary>Writes any value to PROD, as a buggy or hostile guest may; the guest goes on from its index and wrap bit.</summary>
    public void RingAt(uint value)
    {
        Write(CmdqvRegister.VCMDQ_PROD, value);
        Prod = value & WrapMask;
    }

    /// <summary>Reads one of the queue's page-0 registers through the window.</summary>
    public uint Read(uint register) => (uint)_guest.Registers.Read((Index * CmdqvRegister.VcmdqStride) + register, sizeof(uint));

    /// <summary>Writes one of the queue's page-0 registers through the window.</summary>
    public void Write(uint register, uint value) => _guest.Registers.Write((Index * CmdqvRegister.VcmdqStride) + register, sizeof(uint), value);

    private ulong Slot(uint position) => _ipa + ((position & (Entries - 1)) * 16UL);
}
