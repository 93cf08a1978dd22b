using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Cmdqv.Hardware;

/// <summary>
/// One virtual command queue: an SMMUv3-format queue (CONS with ERR, PROD, BASE) plus CONFIG, STATUS and its own
/// GERROR/GERRORN (tegra241-cmdqv.c TEGRA241_VCMDQ_*). Commands from a guest-owned VINTF are filtered and rewritten
/// before the SMMU executes them: only TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and CMD_SYNC are accepted, the VMID becomes
/// the VINTF's, StreamIDs go through the SID match/replace pairs (no match: CERROR_ILL), and a CMD_SYNC signals
/// nothing.
/// </summary>
internal sealed class Vcmdq : ICommandExecutor
{
    private readonly Tegra241Cmdqv _cmdqv;

    internal Vcmdq(Tegra241Cmdqv cmdqv, int globalIndex, CommandQueue queue)
    {
        _cmdqv = cmdqv;
        GlobalIndex = globalIndex;
        Queue = queue;
        Work = new QueueEngine.Work(queue.Name, () => cmdqv.Consume(this), (_, e) => cmdqv.OnQueueFault(this, e), doorbell: queue);
    }

    public int GlobalIndex { get; }

    /// <summary>The queue registers and consumer.</summary>
    public CommandQueue Queue { get; }

    /// <summary>The VINTF it is mapped to (CMDQ_ALLOC), or null.</summary>
    public Vintf? Owner { get; internal set; }

    public int LogicalIndex { get; internal set; }

    /// <summary>CONFIG.EN as software wrote it.</summary>
    public uint Config { get; internal set; }

    /// <summary>STATUS.ENABLED follows CONFIG.EN.</summary>
    public uint Status => Config & CmdqvRegister.VCMDQ_EN;

    public uint Gerror { get; internal set; }

    public uint Gerrorn { get; internal set; }

    public ulong ConsIndexBase { get; internal set; }

    public bool ErrorActive => ((Gerror ^ Gerrorn) & 1) != 0;

    public bool Enabled => (Config & CmdqvRegister.VCMDQ_EN) != 0;

    internal QueueEngine.Work Work { get; }

    /// <summary>True while consuming this queue is stopped by a fault of the model (never by guest input).</summary>
    public bool Broken => Work.Broken;

    /// <summary>True while the queue is stopped on a command held for the host (see <see cref="Tegra241Cmdqv.HostHold"/>).</summary>
    public bool Held => HeldTicket != 0;

    /// <summary>Non-zero while a command is held: identifies that hold, so a release after a reset changes nothing.</summary>
    internal long HeldTicket { get; set; }

    /// <summary>The command the queue is held on.</summary>
    internal SmmuCommand HeldCommand { get; set; }

    /// <summary>
    /// One consumer at a time, from the first fetch to the error report (<see cref="Tegra241Cmdqv.Consume"/>); guards
    /// <see cref="HeldTicket"/> and <see cref="HeldCommand"/>. Internal, not private: <see cref="Tegra241Cmdqv"/> takes it.
    /// </summary>
    internal Lock ConsumeLock { get; } = new();

    /// <summary>True for the commands a guest-owned VINTF may issue (tegra241-cmdqv.c
    /// tegra241_guest_vcmdq_supports_cmd()).</summary>
    internal static bool GuestMayIssue(SmmuOpcode opcode) =>
        opcode is SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.TLBI_NH_VA or SmmuOpcode.ATC_INV or SmmuOpcode.CMD_SYNC;

    public CommandError Execute(in SmmuCommand command, CommandQueue queue)
    {
        var vintf = Owner;
        if (vintf is null)
        {
            return CommandError.CERROR_ILL;
        }

        if (vintf.HypOwn)
        {
            return _cmdqv.Target.Execute(command, queue);
        }

        if (!GuestMayIssue(command.Opcode))
        {
            // The host may run it for the guest: the queue stops on it with nothing visible to the guest until the
            // host's handler has run it or let the error stand (see Tegra241Cmdqv.HostHold).
            if (!_cmdqv.HoldsForHost(command))
            {
                return CommandError.CERROR_ILL;
            }

            HeldCommand = command;
            return CommandQueue.Hold;
        }

        var rewritten = command;
        switch (command.Opcode)
        {
            case SmmuOpcode.TLBI_NH_ASID:
            case SmmuOpcode.TLBI_NH_VA:
                rewritten = command.WithVmid(vintf.Vmid);
                break;
            case SmmuOpcode.ATC_INV:
                if (!vintf.TryReplaceStreamId(command.StreamId, out uint psid))
                {
                    return CommandError.CERROR_ILL;
                }

                rewritten = command.WithStreamId(psid);
                break;
            case SmmuOpcode.CMD_SYNC when command.Cs == SmmuCommand.CS_SIG_IRQ:
                // No completion signal from a guest queue: its driver polls CONS (arm-smmu-v3.c
                // arm_smmu_cmdq_needs_busy_polling()), and an MSI would be a write to whatever physical address the
                // guest put in MSIAddress. CS = 3 stays illegal.
                rewritten = new SmmuCommand(command.Word0 & ~SmmuCommandLayout.W0_CS, command.Word1);
                break;
        }

        return _cmdqv.Target.Execute(rewritten, queue);
    }
}
