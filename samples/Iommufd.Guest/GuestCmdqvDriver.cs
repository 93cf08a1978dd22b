using System.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// A model of what a Linux guest's Tegra241 CMDQV driver does (drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c), in our
/// own code: it enables the CMDQV and VINTF0, maps and enables logical VCMDQ 0 with a queue in guest memory, and offers
/// a <see cref="VcmdqCommandPath"/> that sends the commands the VINTF accepts to that queue.
/// </summary>
/// <remarks>
/// <para>
/// The guest asks for HYP_OWN on VINTF0 as the host driver does, and reads it back: inside a VM it reads 0 (the
/// hypervisor owns the real VINTF), so the path installs the guest filter (TLBI_NH_ASID, TLBI_NH_VA, ATC_INV only).
/// When VINTF0 is already enabled — a hypervisor set it up, with its own VMID — the driver leaves CONFIG alone.
/// </para>
/// <para>
/// Not modelled: more than one LVCMDQ (Linux spreads CPUs over them), the CMDQV interrupt and the error maps (errors
/// are found by polling the queue's own GERROR), CONS_INDX_BASE, and teardown.
/// </para>
/// </remarks>
public sealed class GuestCmdqvDriver
{
    private const int Vintf = 0;
    private const int Lvcmdq = 0;
    private const int CommandSize = 16;

    private readonly IMmio _mmio;
    private readonly TimeSpan _timeout;

    /// <summary>Probes PARAM, enables the CMDQV and VINTF0, and brings up LVCMDQ 0.</summary>
    /// <exception cref="TimeoutException">An enable was not reflected in its STATUS register in time.</exception>
    /// <exception cref="NotSupportedException">PARAM reports no queue for VINTF0.</exception>
    public GuestCmdqvDriver(IMmio cmdqv, IGuestMemory memory, GuestCmdqvOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cmdqv);
        ArgumentNullException.ThrowIfNull(memory);
        options ??= new GuestCmdqvOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueLog2Entries, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.QueueLog2Entries, 19, nameof(options));
        _mmio = cmdqv;
        _timeout = options.SyncTimeout;

        // PARAM (tegra241-cmdqv.c TEGRA241_CMDQV_PARAM): VER [3:0], NUM_VCMDQ_LOG2 [7:4], NUM_VINTF_LOG2 [11:8],
        // NUM_SID_PER_VM_LOG2 [15:12]. The counts are read, never assumed (__tegra241_cmdqv_probe()); a VMM shows a
        // guest one VINTF.
        uint param = Read(CmdqvRegister.PARAM);
        Version = (int)(param & 0xF);
        int vcmdqLog2 = (int)((param >> 4) & 0xF);
        int vintfLog2 = (int)((param >> 8) & 0xF);
        VintfCount = 1 << vintfLog2;
        VcmdqCount = 1 << vcmdqLog2;
        LvcmdqsPerVintf = vcmdqLog2 >= vintfLog2 ? VcmdqCount / VintfCount : 0;
        SidPairsPerVintf = 1 << (int)((param >> 12) & 0xF);
        if (LvcmdqsPerVintf == 0)
        {
            throw new NotSupportedException($"PARAM 0x{param:x} leaves no VCMDQ for VINTF0");
        }

        Write(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
        WaitFor(CmdqvRegister.STATUS, 1, "CMDQV STATUS.CMDQV_ENABLED");

        const uint vintfConfig = CmdqvRegister.VintfBase + (Vintf * CmdqvRegister.VintfStride) + CmdqvRegister.VINTF_CONFIG;
        const uint vintfStatus = CmdqvRegister.VintfBase + (Vintf * CmdqvRegister.VintfStride) + CmdqvRegister.VINTF_STATUS;
        if ((Read(vintfConfig) & CmdqvRegister.VINTF_CONFIG_EN) == 0)
        {
            // As the host driver sets up VINTF0: VMID 0 and HYP_OWN first, then EN (tegra241_vintf_hw_init()).
            Write(vintfConfig, CmdqvRegister.VINTF_CONFIG_HYP_OWN);
            Write(vintfConfig, CmdqvRegister.VINTF_CONFIG_HYP_OWN | CmdqvRegister.VINTF_CONFIG_EN);
        }

        WaitFor(vintfStatus, 1, "VINTF0 STATUS.ENABLED");

        // HYP_OWN is wired to 0 for a guest (tegra241_vintf_hw_init() reads it back): what reads back decides which
        // commands the queue takes.
        HypOwn = (Read(vintfConfig) & CmdqvRegister.VINTF_CONFIG_HYP_OWN) != 0;

        // Map global VCMDQ 0 as VINTF0's LVCMDQ 0 (CMDQ_ALLOC, as tegra241_cmdqv_hw_reset(): q = vintf × per-VINTF
        // count + lidx).
        Write(CmdqvRegister.CMDQ_ALLOC + 0, CmdqvRegister.CMDQ_ALLOC_ALLOCATED
            | ((uint)Lvcmdq << CmdqvRegister.CMDQ_ALLOC_LVCMDQ_SHIFT) | ((uint)Vintf << CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT));

        uint page0 = CmdqvRegister.VintfPagesBase + (Vintf * CmdqvRegister.VintfPagesStride) + (Lvcmdq * CmdqvRegister.VcmdqStride);
        uint page1 = page0 + CmdqvRegister.PageSize;
        if ((Read(page0 + CmdqvRegister.VCMDQ_CONFIG) & CmdqvRegister.VCMDQ_EN) != 0)
        {
            Write(page0 + CmdqvRegister.VCMDQ_CONFIG, 0); // BASE and CONS may change only while the queue is off
            WaitFor(page0 + CmdqvRegister.VCMDQ_STATUS, 0, "VCMDQ STATUS.ENABLED clear");
        }

        // The queue is aligned to its size, as the host's HW queue rules require (tegra241_vintf_alloc_lvcmdq_user()),
        // and below 2^48 (BASE ADDR [47:5]).
        QueueLog2Entries = options.QueueLog2Entries;
        ulong bytes = Math.Max((ulong)CommandSize << QueueLog2Entries, 32);
        QueueIpa = memory.Allocate(bytes, bytes);
        if ((QueueIpa & ~CmdqvRegister.VCMDQ_BASE_ADDR_MASK) != 0)
        {
            throw new NotSupportedException($"queue IPA 0x{QueueIpa:x} is outside BASE.ADDR [47:5]");
        }

        _mmio.Write(page1 + CmdqvRegister.VCMDQ_BASE, QueueIpa | (uint)QueueLog2Entries, 8);
        Write(page0 + CmdqvRegister.VCMDQ_PROD, 0);
        Write(page0 + CmdqvRegister.VCMDQ_CONS, 0);

        // A previous owner's unacknowledged error would keep the queue stopped.
        uint gerror = Read(page0 + CmdqvRegister.VCMDQ_GERROR);
        if (gerror != Read(page0 + CmdqvRegister.VCMDQ_GERRORN))
        {
            Write(page0 + CmdqvRegister.VCMDQ_GERRORN, gerror);
        }

        // The guest enables its own queue (tegra241_vcmdq_hw_init_user() writes only BASE).
        Write(page0 + CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
        WaitFor(page0 + CmdqvRegister.VCMDQ_STATUS, CmdqvRegister.VCMDQ_EN, "VCMDQ STATUS.ENABLED");

        // A secondary queue's CMD_SYNC uses CS = NONE and its completion is busy-polled through CONS
        // (arm_smmu_cmdq_needs_busy_polling()).
        Queue = new SmmuCommandQueuePath($"vcmdq{Lvcmdq}", cmdqv, memory, QueueIpa, QueueLog2Entries,
            CommandQueueRegisters.Lvcmdq(Vintf, Lvcmdq), SmmuCommand.CS_SIG_NONE, _timeout);
    }

    /// <summary>PARAM.VER.</summary>
    public int Version { get; }

    /// <summary>VINTFs the CMDQV reports (a VMM reports 1).</summary>
    public int VintfCount { get; }

    /// <summary>Global VCMDQs the CMDQV reports.</summary>
    public int VcmdqCount { get; }

    /// <summary>Logical VCMDQs per VINTF.</summary>
    public int LvcmdqsPerVintf { get; }

    /// <summary>SID match/replace pairs per VINTF.</summary>
    public int SidPairsPerVintf { get; }

    /// <summary>VINTF0 CONFIG.HYP_OWN as read back: false inside a VM, so the guest filter applies.</summary>
    public bool HypOwn { get; }

    /// <summary>IPA of LVCMDQ 0's entries.</summary>
    public ulong QueueIpa { get; }

    /// <summary>LOG2SIZE of LVCMDQ 0.</summary>
    public int QueueLog2Entries { get; }

    /// <summary>LVCMDQ 0 as a command queue (PROD/CONS/GERROR/GERRORN in VINTF0's page 0).</summary>
    public SmmuCommandQueuePath Queue { get; }

    /// <summary>
    /// A path that sends what VINTF0 accepts to LVCMDQ 0 and the rest to <paramref name="fallback"/> (the SMMU's
    /// queue): the guest filter when <see cref="HypOwn"/> reads 0, everything to the VCMDQ otherwise.
    /// </summary>
    public VcmdqCommandPath CreateCommandPath(ICommandPath fallback) => new(Queue, fallback, guestOwned: !HypOwn);

    private void WaitFor(uint offset, uint expected, string what)
    {
        long start = Stopwatch.GetTimestamp();
        var spin = default(SpinWait);
        while ((Read(offset) & 1) != expected)
        {
            if (Stopwatch.GetElapsedTime(start) > _timeout)
            {
                throw new TimeoutException($"{what} did not read {expected} in time");
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private uint Read(uint offset) => (uint)_mmio.Read(offset);

    private void Write(uint offset, uint value) => _mmio.Write(offset, value);
}
