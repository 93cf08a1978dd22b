using System.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// A model of what the Linux arm-smmu-v3 driver does inside a VM, written from the specification's behaviour (not
/// from the kernel's code): it probes the ID registers, sets up a linear stream table, a command queue and an event
/// queue in guest memory, enables the SMMU, and then attaches devices to stage-1 translations, maps and unmaps
/// pages, and invalidates exactly what it unmapped before returning (Arm IHI 0070 chapters 5 and 6; arm-smmu-v3.c).
/// </summary>
/// <remarks>
/// <para>
/// Split by concern: probe and reset here, devices and invalidation in <c>GuestSmmuDriver.Devices.cs</c>, the event
/// queue in <c>GuestSmmuDriver.Events.cs</c>. Commands go through <see cref="CommandPath"/>: the SMMU's own queue
/// (<see cref="Queue"/>) unless a CMDQV path is plugged in.
/// </para>
/// <para>
/// Not modelled: two-level stream and CD tables, substreams (S1CDMax = 0), stage 2 and nesting inside the guest,
/// block mappings, MSIs and wired interrupts (completions and events are polled), PRI, stalls, HTTU, freeing of page
/// tables and CDs (the guest allocator has no free), and the PCI side of ATS (enabling ATS in the endpoint).
/// </para>
/// </remarks>
public sealed partial class GuestSmmuDriver
{
    private const uint Cr0SmmuEn = 1u << 0;
    private const uint Cr0EventqEn = 1u << 2;
    private const uint Cr0CmdqEn = 1u << 3;
    private const uint IrqCtrlGerrorIrqEn = 1u << 0;
    private const uint IrqCtrlEventqIrqEn = 1u << 2;

    /// <summary>CR1: queues and tables Write-Back cacheable (IC/OC = 1) and Inner Shareable (SH = 3), as Linux sets.</summary>
    private const uint Cr1 = (1u << 0) | (1u << 2) | (3u << 4) | (1u << 6) | (1u << 8) | (3u << 10);

    /// <summary>CR2: RECINVSID (record C_BAD_STREAMID) and PTM (no broadcast TLB maintenance).</summary>
    private const uint Cr2 = (1u << 1) | (1u << 2);

    /// <summary>Read-allocate hint, bit 62 of STRTAB_BASE, CMDQ_BASE and EVENTQ_BASE.</summary>
    private const ulong BaseRa = 1UL << 62;

    private const ulong QueueBaseAddressMask = 0x000F_FFFF_FFFF_FFE0; // ADDR [51:5]
    private const ulong StrtabBaseAddressMask = 0x000F_FFFF_FFFF_FFC0; // ADDR [51:6]
    private const int CommandSize = 16;

    private readonly IMmio _mmio;
    private readonly IGuestMemory _memory;
    private readonly GuestSmmuOptions _options;
    private ICommandPath _commandPath;

    /// <summary>Probes and resets the SMMU behind <paramref name="smmu"/>, leaving it enabled.</summary>
    /// <exception cref="NotSupportedException">The SMMU lacks something this driver needs (S1P, AArch64 tables, 4K).</exception>
    /// <exception cref="TimeoutException">CR0ACK or IRQ_CTRLACK did not follow, or the initial invalidation did not complete.</exception>
    public GuestSmmuDriver(IMmio smmu, IGuestMemory memory, GuestSmmuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(smmu);
        ArgumentNullException.ThrowIfNull(memory);
        _mmio = smmu;
        _memory = memory;
        _options = options ?? new GuestSmmuOptions();
        if (_options.CommandQueueLog2Entries < 1 || _options.EventQueueLog2Entries < 0 || _options.StreamTableLog2Entries < 0)
        {
            throw new ArgumentException("queue and table sizes must be at least 2 commands, 1 event and 1 STE", nameof(options));
        }

        Capabilities = Probe();
        StreamTableLog2Entries = Math.Min(_options.StreamTableLog2Entries, Capabilities.SidBits);
        int cmdqLog2 = Math.Min(_options.CommandQueueLog2Entries, Capabilities.CommandQueueLog2Max);
        EventQueueLog2Entries = Math.Min(_options.EventQueueLog2Entries, Capabilities.EventQueueLog2Max);

        // Tables and queues live in guest memory, each aligned to its size (spec §6.3.24, §6.3.26).
        ulong strtabBytes = (ulong)StreamTableEntry.Size << StreamTableLog2Entries;
        StreamTableIpa = memory.Allocate(strtabBytes, strtabBytes);
        ulong cmdqBytes = Math.Max((ulong)CommandSize << cmdqLog2, 32);
        ulong cmdqIpa = memory.Allocate(cmdqBytes, cmdqBytes);
        ulong eventqBytes = Math.Max((ulong)SmmuEvent.Size << EventQueueLog2Entries, 32);
        EventQueueIpa = memory.Allocate(eventqBytes, eventqBytes);

        Reset(cmdqIpa, cmdqLog2);
        Queue = new SmmuCommandQueuePath("smmu.cmdq", smmu, memory, cmdqIpa, cmdqLog2, CommandQueueRegisters.Smmu, SmmuCommand.CS_SIG_SEV, _options.SyncTimeout);
        _commandPath = Queue;
        EnableAfterQueue();
    }

    /// <summary>The ID registers as probed.</summary>
    public GuestSmmuCapabilities Capabilities { get; }

    /// <summary>The SMMU's own command queue (CMDQ_BASE/PROD/CONS), where configuration commands always go.</summary>
    public SmmuCommandQueuePath Queue { get; }

    /// <summary>
    /// Where commands go: <see cref="Queue"/> by default; a guest with a CMDQV plugs in a
    /// <see cref="VcmdqCommandPath"/> whose fallback is <see cref="Queue"/>.
    /// </summary>
    public ICommandPath CommandPath
    {
        get => Volatile.Read(ref _commandPath);
        set => Volatile.Write(ref _commandPath, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>IPA of the linear stream table.</summary>
    public ulong StreamTableIpa { get; }

    /// <summary>log2 of the STEs: StreamIDs 0 .. 2^n − 1 can be attached.</summary>
    public int StreamTableLog2Entries { get; }

    /// <summary>IPA of the event queue.</summary>
    public ulong EventQueueIpa { get; }

    /// <summary>log2 of the event queue's records.</summary>
    public int EventQueueLog2Entries { get; }

    /// <summary>True when unmaps use range TLBIs (IDR3.RIL and <see cref="GuestSmmuOptions.UseRangeInvalidation"/>).</summary>
    public bool UsesRangeInvalidation => Capabilities.RangeInvalidation && _options.UseRangeInvalidation;

    /// <summary>Reads IDR0/1/3/5 and refuses an SMMU this driver cannot drive (Linux's probe fails the same way).</summary>
    private GuestSmmuCapabilities Probe()
    {
        var caps = new GuestSmmuCapabilities(
            Read(SmmuRegister.IDR0), Read(SmmuRegister.IDR1), Read(SmmuRegister.IDR3), Read(SmmuRegister.IDR5));
        if (!caps.Stage1)
        {
            throw new NotSupportedException("the SMMU has no stage 1 (IDR0.S1P = 0); this guest driver translates at stage 1 only");
        }

        if (!caps.AArch64Tables || !caps.Granule4K)
        {
            throw new NotSupportedException("the SMMU cannot walk AArch64 tables with the 4K granule (IDR0.TTF, IDR5.GRAN4K)");
        }

        if (caps.Preset)
        {
            throw new NotSupportedException("preset queue or table bases (IDR1.QUEUES_PRESET/TABLES_PRESET) are not modelled");
        }

        return caps;
    }

    /// <summary>
    /// The first half of the reset sequence (Linux's order, arm-smmu-v3.c arm_smmu_device_reset()): disable, program
    /// CR1/CR2, the stream table (every STE abort) and the command queue, and enable the command queue.
    /// </summary>
    private void Reset(ulong cmdqIpa, int cmdqLog2)
    {
        // Whatever a previous owner left enabled is turned off first: bases may change only while disabled.
        WriteCr0(0);
        Write(SmmuRegister.CR1, Cr1);
        Write(SmmuRegister.CR2, Cr2);

        // Every StreamID starts blocked: V = 1, Config = abort, so stray DMA is refused without C_BAD_STE events.
        for (ulong sid = 0; sid < 1UL << StreamTableLog2Entries; sid++)
        {
            WriteSte((uint)sid, AbortSte);
        }

        _mmio.Write((uint)SmmuRegister.STRTAB_BASE, BaseRa | (StreamTableIpa & StrtabBaseAddressMask), 8);
        Write(SmmuRegister.STRTAB_BASE_CFG, (uint)StreamTableLog2Entries); // FMT [17:16] = 0: linear

        _mmio.Write((uint)SmmuRegister.CMDQ_BASE, BaseRa | (cmdqIpa & QueueBaseAddressMask) | (uint)cmdqLog2, 8);
        Write(SmmuRegister.CMDQ_PROD, 0);
        Write(SmmuRegister.CMDQ_CONS, 0); // writable only while CMDQEN is clear (spec §6.3.28)
        WriteCr0(Cr0CmdqEn);
    }

    /// <summary>
    /// The second half: forget cached configuration and translations, then the event queue, interrupts, and SMMUEN.
    /// </summary>
    private void EnableAfterQueue()
    {
        // A previous owner's STEs, CDs and TLB entries may still be cached (spec §4.3, §4.4).
        bool flushed = Capabilities.Hyp
            ? Queue.Submit([SmmuCommandBuilder.CfgiAll(), SmmuCommandBuilder.TlbiNsnhAll(), SmmuCommandBuilder.TlbiEl2All()])
            : Queue.Submit([SmmuCommandBuilder.CfgiAll(), SmmuCommandBuilder.TlbiNsnhAll()]);
        if (!flushed)
        {
            throw new TimeoutException("the SMMU did not complete the reset invalidation (CMD_SYNC timeout)");
        }

        _mmio.Write((uint)SmmuRegister.EVENTQ_BASE, BaseRa | (EventQueueIpa & QueueBaseAddressMask) | (uint)EventQueueLog2Entries, 8);
        Write(SmmuRegister.EVENTQ_PROD, 0);
        Write(SmmuRegister.EVENTQ_CONS, 0);
        WriteCr0(Cr0CmdqEn | Cr0EventqEn);

        // The interrupts are enabled as Linux does, though this model polls rather than waits for them.
        Write(SmmuRegister.IRQ_CTRL, IrqCtrlGerrorIrqEn | IrqCtrlEventqIrqEn);
        WaitForAck(SmmuRegister.IRQ_CTRLACK, IrqCtrlGerrorIrqEn | IrqCtrlEventqIrqEn);

        WriteCr0(Cr0CmdqEn | Cr0EventqEn | Cr0SmmuEn);
    }

    /// <summary>Writes CR0 and waits until CR0ACK reflects it (spec §6.3.9, §6.3.10).</summary>
    private void WriteCr0(uint value)
    {
        Write(SmmuRegister.CR0, value);
        WaitForAck(SmmuRegister.CR0ACK, value);
    }

    private void WaitForAck(SmmuRegister ack, uint value)
    {
        long start = Stopwatch.GetTimestamp();
        var spin = default(SpinWait);
        while (Read(ack) != value)
        {
            if (Stopwatch.GetElapsedTime(start) > _options.SyncTimeout)
            {
                throw new TimeoutException($"{ack} did not acknowledge 0x{value:x} (reads 0x{Read(ack):x})");
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private uint Read(SmmuRegister register) => (uint)_mmio.Read((uint)register);

    private void Write(SmmuRegister register, uint value) => _mmio.Write((uint)register, value);
}
