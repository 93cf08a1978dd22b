using System.Collections.Concurrent;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// An emulated Arm SMMUv3 (Arm IHI 0070): registers, the command queue, the event queue, the stream table,
/// stage-1 and stage-2 table walks, and the caches DMA really hits (IOTLB, ATC, configuration cache).
/// </summary>
/// <remarks>
/// Split by concern: registers (<c>SmmuV3.Registers.cs</c>), command execution (<c>SmmuV3.Commands.cs</c>), event
/// queue (<c>SmmuV3.EventQueue.cs</c>), translation (<c>SmmuV3.Translation.cs</c>) and the check of live STE updates
/// (<c>SmmuV3.SteUpdates.cs</c>).
/// Not modelled: the Secure programming interface, PRI queue, stalls (STALL_MODEL is "no stall"), HTTU, MPAM
/// beyond CFGI_VMS_PIDM legality, L1CD caching, walk caches, AArch32 tables, 52-bit
/// addresses, ECMDQ, and the PMCG.
/// </remarks>
internal sealed partial class SmmuV3 : IDisposable
{
    private readonly PhysicalMemory _memory;
    private readonly ConcurrentDictionary<uint, EndpointDevice> _endpoints = new();
    private readonly ConcurrentDictionary<uint, Atc> _atcs = new();
    private readonly QueueEngine? _engine;
    private readonly bool _ownsEngine;
    private readonly QueueEngine.Work _commandWork;
    private readonly InFlightTransactions _inFlight = new();

    public SmmuV3(string name, SmmuV3Features features, PhysicalMemory memory, ExecutionMode mode = ExecutionMode.Inline, QueueEngine? engine = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(memory);
        var errors = features.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(features));
        }

        Name = name;
        Features = features;
        Iotlb = new Iotlb(transactions: _inFlight);
        _memory = memory;
        Mode = mode;
        CommandQueue = new CommandQueue(memory, features.CmdqLog2Size, $"{name}.cmdq");
        _commandWork = new QueueEngine.Work(CommandQueue.Name, ConsumeCommands, (_, e) => QueueFaulted?.Invoke(CommandQueue, e));
        if (mode == ExecutionMode.Threaded)
        {
            _engine = engine ?? new QueueEngine(1, name);
            _ownsEngine = engine is null;
        }
    }

    public string Name { get; }

    public SmmuV3Features Features { get; }

    public ExecutionMode Mode { get; }

    /// <summary>The memory the SMMU reads tables and queues from and DMA goes to.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary>The Non-secure command queue (CMDQ_BASE/PROD/CONS).</summary>
    public CommandQueue CommandQueue { get; }

    /// <summary>The TLB, filled only inside the transactions a CMD_SYNC waits for (a DMA piece, or one <c>Translate</c>).</summary>
    public Iotlb Iotlb { get; }

    public ConfigCache ConfigCache { get; } = new();

    /// <summary>
    /// Raised when consuming the command queue threw (a model bug, never guest input): the queue stops until
    /// software re-enables it (CR0.CMDQEN 0 → 1). Handlers run on the consuming thread.
    /// </summary>
    public event Action<CommandQueue, Exception>? QueueFaulted;

    /// <summary>True while the command queue is stopped by a fault (see <see cref="QueueFaulted"/>).</summary>
    public bool CommandQueueBroken => _commandWork.Broken;

    /// <summary>
    /// Raised for each interrupt (wired line or MSI-less signal). Handlers run on the raising thread: for a fault's
    /// event, the faulting device's, after its transaction has completed (a CMD_SYNC never waits for a handler).
    /// </summary>
    public event Action<SmmuInterrupt>? Interrupt;

    /// <summary>CMD_SYNCs completed.</summary>
    public long SyncsCompleted => Volatile.Read(ref _mainSyncs) + _syncsCompleted.Read();

    /// <summary>SEV events sent (CMD_SYNC with SIG_SEV, queue no longer full).</summary>
    public long SevSent => Volatile.Read(ref _mainSev) + _sevSent.Read();

    /// <summary>The client transactions in flight, which a CMD_SYNC waits for (tests hold one open through it).</summary>
    internal InFlightTransactions Transactions => _inFlight;

    /// <summary>Table walks performed.</summary>
    public long TableWalks => Interlocked.Read(ref _walks);

    // Counts of the SMMU's own queue have one writer, its consumer (one slice at a time, handed over through the
    // engine work's state), so they are plain; other queues the SMMU executes for (a CMDQV's VCMDQs, consumed at the
    // same time on other cores) add to the striped ones.
    private readonly StripedCount _syncsCompleted = new();
    private readonly StripedCount _sevSent = new();
    private long _mainSyncs;
    private long _mainSev;
    private long _walks;

    /// <summary>Connects an endpoint: its StreamID, and for an ATS device the ATC the SMMU's ATC_INV reaches.</summary>
    public void ConnectEndpoint(EndpointDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _endpoints[device.StreamId] = device;
        if (device.AtsCapable)
        {
            _atcs[device.StreamId] = new Atc();
        }
    }

    /// <summary>The ATC of the ATS device with <paramref name="sid"/>, if any.</summary>
    public Atc? GetAtc(uint sid) => _atcs.GetValueOrDefault(sid);

    /// <summary>Stops the engine threads this SMMU started (a shared engine is its creator's to stop).</summary>
    public void Dispose()
    {
        if (_ownsEngine)
        {
            _engine!.Dispose();
        }
    }

    private void Raise(SmmuInterrupt interrupt) => Interrupt?.Invoke(interrupt);

    /// <summary>
    /// Rings the command queue's doorbell: consume now (inline), or threaded a slice on the ringing thread when no
    /// engine thread is busy with the queue (the rest, and a doorbell during a running slice, go to the engine).
    /// </summary>
    private void KickCommandQueue()
    {
        if (_engine is null)
        {
            _commandWork.RunInline();
        }
        else
        {
            _engine.Kick(_commandWork);
        }
    }

    /// <summary>CR0.CMDQEN 0 → 1: a queue a fault stopped starts afresh, then consumes.</summary>
    private void EnableCommandQueue()
    {
        _commandWork.Repair();
        KickCommandQueue();
    }

    /// <summary>One engine slice of the command queue; true when entries are left for the next slice.</summary>
    private bool ConsumeCommands()
    {
        if ((Cr0 & Cr0CmdqEn) == 0 || IsErrorActive(GlobalError.CMDQ_ERR))
        {
            return false;
        }

        // With IDR0.SEV the SMMU sends a WFE wake-up when a queue that software could see full becomes non-full
        // (spec §4.1.2).
        bool wasFull = Features.Sev && CommandQueue.IsFull;
        long consumedBefore = wasFull ? CommandQueue.Consumed : 0;
        var self = this;
        var error = CommandQueue.Consume(ref self, QueueEngine.SliceEntries, out bool more);
        if (wasFull && CommandQueue.Consumed != consumedBefore)
        {
            Volatile.Write(ref _mainSev, _mainSev + 1); // the one consumer of this queue (see the fields)
        }

        if (error != CommandError.CERROR_NONE)
        {
            RaiseGlobalError(GlobalError.CMDQ_ERR);
        }

        return more;
    }
}
