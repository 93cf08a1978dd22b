using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.Logging;

namespace Iommufd.Cmdqv.Driver;

/// <summary>
/// The Tegra241 CMDQV driver as an SMMUv3 implementation extension (drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c):
/// VINTF0 with its LVCMDQs for host invalidations, guest VINTFs behind TEGRA241_CMDQV vIOMMUs, error relay, and host
/// fix-up of what a guest queue cannot run. With no CMDQV hardware (or when the options ask for it) the same surface is
/// served by a software CMDQV whose queues a host worker consumes.
/// </summary>
internal sealed class CmdqvImplementation : ISmmuV3Implementation, IDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _vintfLock = new(); // guards _guests (and so which VINTFs are free)
    private readonly CmdqvViommu?[] _guests;
    private readonly HostCommandQueue[] _hostQueues = [];
    private readonly List<PhysicalBank> _hostQueueMemory = [];
    private readonly SoftwareVcmdqExecutor? _software;
    private readonly QueueEngine? _softwareWorker;
    private readonly ConcurrentQueue<HeldCommand> _heldCommands = new();
    private readonly QueueEngine? _fixupEngine;
    private readonly QueueEngine.Work _fixupWork;
    private long _fixups;
    private long _errorsNotRelayed;

    public CmdqvImplementation(SmmuV3Host host, CmdqvOptions options, ILogger logger, CmdqvMetrics? metrics = null)
    {
        Metrics = metrics ?? new CmdqvMetrics(null);
        Host = host;
        Options = options;
        _logger = logger;
        Backend = options.EffectiveBackend;
        if (Backend == VcmdqBackend.Software)
        {
            // The host worker runs on its own thread, never on the guest's (a PROD write to the page is no trap), and
            // polls before it parks; the host queue it issues on is consumed on the worker's thread when free.
            _software = new SoftwareVcmdqExecutor(host);
            if (host.Hardware.Mode == ExecutionMode.Threaded)
            {
                _softwareWorker = new QueueEngine(2, $"{host.Name}.swcmdqv", options.SoftwareWorkerSpin, runOnCaller: false);
            }

            Cmdqv = new Tegra241Cmdqv($"{host.Name}.swcmdqv", options.Features, _software, host.Memory, host.Probed.CmdqLog2Size, host.Hardware.Mode, _softwareWorker);
        }
        else
        {
            Cmdqv = new Tegra241Cmdqv($"{host.Name}.cmdqv", options.Features, host.Hardware);
        }

        _guests = new CmdqvViommu?[options.Features.Vintfs];
        Cmdqv.Interrupt += OnInterrupt;
        Cmdqv.QueueFaulted += OnQueueFaulted;

        // The host's error handler for held guest commands runs in its own context: a per-CMDQV worker when the
        // hardware runs on engine threads, so a fix-up waiting on the main queue never holds up the engine threads
        // every VM's VCMDQs depend on (inline: on the thread that rang the guest's doorbell).
        _fixupWork = new QueueEngine.Work($"{host.Name}.cmdqv.fixups", RunHeldCommands, OnFixupFaulted);
        if (options.HostFixup)
        {
            Cmdqv.HoldForHost = static c => HostFixup.Covers(c.Opcode);
            Cmdqv.HostHold += OnHostHold;
            if (host.Hardware.Mode == ExecutionMode.Threaded)
            {
                _fixupEngine = new QueueEngine(1, $"{host.Name}.cmdqv.fixups");
            }
        }

        Cmdqv.WriteRegister(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
        PreassignQueues();
        if (Backend == VcmdqBackend.Hardware)
        {
            _hostQueues = SetUpHostVintf();
        }

        Log.Started(_logger, host.Name, Backend, options.Features.Vintfs, options.Features.LvcmdqsPerVintf);
    }

    public SmmuV3Host Host { get; }

    /// <summary>The driver's instruments.</summary>
    internal CmdqvMetrics Metrics { get; }

    public CmdqvOptions Options { get; }

    public VcmdqBackend Backend { get; }

    /// <summary>The CMDQV (hardware model, or the software one).</summary>
    public Tegra241Cmdqv Cmdqv { get; }

    /// <summary>Guest commands the host ran for guest queues.</summary>
    public long Fixups => Interlocked.Read(ref _fixups);

    /// <summary>Guest queue errors that had no vEVENTQ to go to.</summary>
    public long ErrorsNotRelayed => Interlocked.Read(ref _errorsNotRelayed);

    /// <summary>The host's LVCMDQs on VINTF0 (empty for a software CMDQV).</summary>
    public IReadOnlyList<HostCommandQueue> HostQueues => _hostQueues;

    internal SoftwareVcmdqExecutor? Software => _software;

    public Errno GetHwInfo(IommuHwInfoType type, Span<byte> data, out HwInfoResult result)
    {
        if (type != IommuHwInfoType.Tegra241Cmdqv)
        {
            result = default;
            return Errno.EOPNOTSUPP;
        }

        var f = Options.Features;
        var info = new IommuHwInfoTegra241Cmdqv
        {
            Version = (byte)f.Version,
            Log2Vcmdqs = (byte)(f.VcmdqLog2 - f.VintfLog2),
            Log2Vsids = (byte)f.SidPerVintfLog2,
        };
        MemoryMarshal.Write(data, in info);
        result = new HwInfoResult(IommuHwInfoType.Tegra241Cmdqv, Marshal.SizeOf<IommuHwInfoTegra241Cmdqv>());
        return Errno.Success;
    }

    public bool SupportsViommu(IommuViommuType type) => type == IommuViommuType.Tegra241Cmdqv;

    public Errno InitViommu(SmmuV3Viommu core, IommuViommuType type, UserData data, out IViommu viommu)
    {
        viommu = null!;
        if (data.IsEmpty)
        {
            return Errno.EINVAL;
        }

        if (Host.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = data.CopyFrom((uint)IommuViommuType.Tegra241Cmdqv, 16, out IommuViommuTegra241Cmdqv request);
        if (rc != Errno.Success)
        {
            return rc;
        }

        CmdqvViommu guest;
        lock (_vintfLock)
        {
            int index = Array.FindIndex(_guests, 1, g => g is null); // VINTF0 is the host's
            if (index < 0)
            {
                return Errno.ENOSPC;
            }

            guest = new CmdqvViommu(this, core, index);
            _guests[index] = guest;
        }

        rc = guest.Start(out request.OutVintfMmapOffset, out request.OutVintfMmapLength);
        if (rc == Errno.Success)
        {
            rc = data.CopyTo(request);
        }

        if (rc != Errno.Success)
        {
            guest.Destroy();
            return rc;
        }

        viommu = guest;
        return Errno.Success;
    }

    public HostCommandQueue? GetSecondaryQueue() =>
        Options.BypassHostVcmdq || _hostQueues.Length == 0 ? null : _hostQueues[Thread.GetCurrentProcessorId() % _hostQueues.Length];

    /// <summary>
    /// What a guest-owned VINTF0 (HYP_OWN read back as 0) takes; a hypervisor-owned one takes every command and has
    /// no filter (tegra241-cmdqv.c tegra241_vcmdq_hw_init() sets supports_cmd only without hyp_own). It takes only
    /// what a guest queue may issue (tegra241_guest_vcmdq_supports_cmd()), and it rewrites the VMID and StreamID of
    /// those commands (VINTF SID_MATCH/SID_REPLACE and VMID), so it gets only commands the rewrite leaves as they
    /// are: a host TLBI for another VMID, or an ATC_INV for a SID no pair of VINTF0 maps to itself, would act on the
    /// wrong context or fail there.
    /// </summary>
    private bool GuestOwnedVintf0Supports(in SmmuCommand command)
    {
        var vintf0 = Cmdqv.Vintfs[0];
        return command.Opcode switch
        {
            SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.TLBI_NH_VA => command.Vmid == vintf0.Vmid,
            SmmuOpcode.ATC_INV => vintf0.TryReplaceStreamId(command.StreamId, out uint sid) && sid == command.StreamId,
            SmmuOpcode.CMD_SYNC => true,
            _ => false,
        };
    }

    /// <summary>Stops the fix-up worker, the CMDQV's engine threads and the software worker, then frees the host queues' memory.</summary>
    public void Dispose()
    {
        Cmdqv.Interrupt -= OnInterrupt;
        Cmdqv.HostHold -= OnHostHold;
        Cmdqv.QueueFaulted -= OnQueueFaulted;
        _fixupEngine?.Dispose();
        Cmdqv.Dispose();
        _softwareWorker?.Dispose();
        foreach (var bank in _hostQueueMemory)
        {
            Host.Memory.Free(bank);
        }
    }

    internal void Release(int vintf)
    {
        lock (_vintfLock)
        {
            _guests[vintf] = null;
        }
    }

    /// <summary>The global VCMDQ that serves VINTF <paramref name="vintf"/>'s logical queue <paramref name="lidx"/>.</summary>
    internal int GlobalQueue(int vintf, int lidx) => (vintf * Options.Features.LvcmdqsPerVintf) + lidx;

    /// <summary>Address of a per-queue register in the global VCMDQ pages.</summary>
    internal static uint QueueRegister(int globalQueue, uint register, bool page1) =>
        (page1 ? CmdqvRegister.GlobalVcmdqPage1 : CmdqvRegister.GlobalVcmdqPage0) + ((uint)globalQueue * CmdqvRegister.VcmdqStride) + register;

    internal void ReportNotRelayed(int vintf, UInt128 map)
    {
        Interlocked.Increment(ref _errorsNotRelayed);
        Metrics.RecordNotRelayed(Host.Name);

        Log.ErrorNotRelayed(_logger, Host.Name, vintf, map);
    }

    /// <summary>
    /// Pre-assigns every global VCMDQ to its VINTF and logical index without mapping it (ALLOCATED = 0), as
    /// tegra241-cmdqv.c tegra241_cmdqv_hw_reset() does: a queue is mapped only when its VINTF is set up
    /// (tegra241_vintf_hw_init() for VINTF0, tegra241_vintf_alloc_lvcmdq_user() for a guest's), so no VINTF has a
    /// logical queue it did not ask for.
    /// </summary>
    private void PreassignQueues()
    {
        int perVintf = Options.Features.LvcmdqsPerVintf;
        for (int q = 0; q < Cmdqv.Queues.Count; q++)
        {
            Cmdqv.WriteRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)q * 4),
                ((uint)(q / perVintf) << CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT) | ((uint)(q % perVintf) << CmdqvRegister.CMDQ_ALLOC_LVCMDQ_SHIFT));
        }
    }

    /// <summary>Sets or clears CMDQ_ALLOC(q).ALLOCATED and keeps the pre-assignment (tegra241-cmdqv.c
    /// tegra241_vcmdq_map_lvcmdq() and tegra241_vcmdq_unmap_lvcmdq() read, modify and write it).</summary>
    internal void MapQueue(int globalQueue, bool mapped)
    {
        uint register = CmdqvRegister.CMDQ_ALLOC + ((uint)globalQueue * 4);
        uint value = (uint)Cmdqv.ReadRegister(register);
        Cmdqv.WriteRegister(register, mapped ? value | CmdqvRegister.CMDQ_ALLOC_ALLOCATED : value & ~CmdqvRegister.CMDQ_ALLOC_ALLOCATED);
    }

    /// <summary>
    /// VINTF0 for the host: HYP_OWN (unless the options model a driver that reads it back as 0), every LVCMDQ
    /// mapped in ascending order, with host memory behind it and enabled. Each queue is as large as the SMMU's main
    /// queue, so capped by IDR1.CMDQS (tegra241-cmdqv.c tegra241_vcmdq_alloc_smmu_cmdq()), and waits for a
    /// CMD_SYNC as long as the main queue does.
    /// </summary>
    private HostCommandQueue[] SetUpHostVintf()
    {
        int hostQueueLog2Size = Host.MainQueue.Queue.Log2Size;
        uint config = CmdqvRegister.VINTF_CONFIG_EN | (Options.HostVintfHypOwn ? CmdqvRegister.VINTF_CONFIG_HYP_OWN : 0);
        Cmdqv.WriteRegister(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, config);
        int n = Options.Features.LvcmdqsPerVintf;
        var queues = new HostCommandQueue[n];
        for (int lidx = 0; lidx < n; lidx++)
        {
            int q = GlobalQueue(0, lidx);
            var memory = Host.Memory.Allocate(16L << hostQueueLog2Size, (ulong)Math.Max(16L << hostQueueLog2Size, PhysicalMemory.PageSize));
            _hostQueueMemory.Add(memory);
            MapQueue(q, mapped: true);
            Cmdqv.WriteRegister(QueueRegister(q, CmdqvRegister.VCMDQ_BASE, page1: true), memory.BaseAddress | (uint)hostQueueLog2Size, 8);
            Cmdqv.WriteRegister(QueueRegister(q, CmdqvRegister.VCMDQ_CONFIG, page1: false), CmdqvRegister.VCMDQ_EN);
            var vcmdq = Cmdqv.Queues[q];
            int queueIndex = q;
            queues[lidx] = new HostCommandQueue(
                vcmdq.Queue,
                prod => Cmdqv.WriteRegister(QueueRegister(queueIndex, CmdqvRegister.VCMDQ_PROD, page1: false), prod),
                () => vcmdq.ErrorActive,
                () => Cmdqv.WriteRegister(QueueRegister(queueIndex, CmdqvRegister.VCMDQ_GERRORN, page1: false), vcmdq.Gerror),
                Host.SyncTimeout,
                _logger,
                Host.Metrics)
            {
                Supports = Options.HostVintfHypOwn ? null : GuestOwnedVintf0Supports,
            };
        }

        return queues;
    }

    /// <summary>The CMDQV interrupt: relay guest VINTFs' error maps (VINTF0 errors are handled by the issuers).</summary>
    private void OnInterrupt()
    {
        ulong map = Cmdqv.VintfErrorMap;
        for (int v = 1; v < _guests.Length && map >> v != 0; v++)
        {
            if ((map & (1UL << v)) == 0)
            {
                continue;
            }

            CmdqvViommu? guest;
            lock (_vintfLock)
            {
                guest = _guests[v];
            }

            guest?.RelayError();
        }
    }

    private void OnQueueFaulted(Vcmdq queue, Exception fault) => RecordFault(queue.Queue.Name, fault);

    private void OnFixupFaulted(QueueEngine.Work work, Exception fault)
    {
        // A fault concerns one held command, which was released (as failed) on the way out: serve the others.
        RecordFault(work.Name, fault);
        work.Repair();
        ScheduleHeldCommands();
    }

    private void RecordFault(string queue, Exception fault)
    {
        Metrics.RecordFault(Host.Name);

        Log.QueueFaulted(_logger, Host.Name, queue, fault);
    }

    private void OnHostHold(Vcmdq queue, SmmuCommand command, long ticket)
    {
        _heldCommands.Enqueue(new HeldCommand(queue, command, ticket));
        ScheduleHeldCommands();
    }

    private void ScheduleHeldCommands()
    {
        if (_fixupEngine is null)
        {
            _fixupWork.RunInline();
        }
        else
        {
            _fixupEngine.Schedule(_fixupWork);
        }
    }

    /// <summary>One slice of the fix-up worker: runs held guest commands and releases their queues.</summary>
    private bool RunHeldCommands()
    {
        for (int i = 0; i < QueueEngine.SliceEntries && _heldCommands.TryDequeue(out var held); i++)
        {
            bool executed = false;
            try
            {
                executed = RunForGuest(held.Queue, held.Command);
            }
            finally
            {
                Cmdqv.ReleaseHeld(held.Queue, held.Ticket, executed); // a stale ticket (queue reset meanwhile) does nothing
            }
        }

        return !_heldCommands.IsEmpty;
    }

    /// <summary>
    /// Host fix-up: a guest queue stopped on a command it may not issue. When the trap path can run it, the host
    /// runs it now on the main queue (after the commands the queue already consumed, so the guest's next CMD_SYNC
    /// still covers it) and the guest sees it consumed; otherwise the error stands. The queue may have been
    /// destroyed or given to another VM meanwhile: the owner is looked up once, and a release for a reset queue
    /// changes nothing.
    /// </summary>
    private bool RunForGuest(Vcmdq queue, SmmuCommand command)
    {
        if (queue.Owner is not { } owner || owner.Index >= _guests.Length)
        {
            return false;
        }

        CmdqvViommu? guest;
        lock (_vintfLock)
        {
            guest = _guests[owner.Index];
        }

        var converted = command;
        if (guest is null || GuestCommandConverter.Convert(ref converted, guest.Core.Vmid, guest.Core.Context, Host.Probed) != GuestCommandConverter.Refusal.None)
        {
            return false;
        }

        Span<SmmuCommand> one = [converted];
        var rc = Host.MainQueue.Issue(one, out _);
        if (rc != Errno.Success)
        {
            Log.FixupFailed(_logger, Host.Name, owner.Index, command.Opcode, rc);
            return false;
        }

        Interlocked.Increment(ref _fixups);
        Metrics.RecordFixup(command.Opcode);

        Log.FixedUp(_logger, Host.Name, owner.Index, command.Opcode);
        return true;
    }

    /// <summary>A guest command a VCMDQ is held on, waiting for the fix-up worker.</summary>
    private readonly record struct HeldCommand(Vcmdq Queue, SmmuCommand Command, long Ticket);
}
