using System.Buffers.Binary;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Cmdqv.Hardware;

/// <summary>
/// An emulated NVIDIA Tegra241 CMDQV beside an emulated SMMUv3 (drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c): global
/// registers, VINTFs with VMID, HYP_OWN and SID match/replace, and VCMDQs that act on the SMMU's IOTLB, ATC and
/// configuration cache.
/// </summary>
/// <remarks>
/// Queues are consumed inline (a PROD write consumes on the writer's thread) or by a few shared engine threads,
/// never a thread per queue; each queue gets a bounded slice before the next ready queue runs. A fault of the model
/// while consuming a queue stops only that queue (<see cref="QueueFaulted"/>). A guest command that
/// <see cref="HoldsForHost"/> selects stops its queue with nothing visible to the guest and raises
/// <see cref="HostHold"/>; the queue waits until the host calls <see cref="ReleaseHeld"/>. A queue error sets the queue's CONS.ERR and GERROR, its VINTF's LVCMDQ_ERR_MAP bit,
/// the global VINTF_ERR_MAP and CMDQ_ERR_MAP bits, and raises <see cref="Interrupt"/>; acknowledging through
/// GERRORN clears the map bits and consumption resumes.
/// VINTF_INT_MASK has a bit per VINTF, as VINTF_ERR_MAP (tegra241-cmdqv.c defines both, 64 bits read as two
/// words, and the ISR tegra241_cmdqv_isr() reads the map that way): a set bit keeps that VINTF's queue errors from
/// raising the interrupt; they still show in the maps. The driver never writes the mask and expects its interrupt,
/// so it resets to 0 (nothing masked).
/// Not modelled: CONS_INDX_BASE write-back, the VINTF STATUS error field, and reset timing.
/// </remarks>
internal sealed class Tegra241Cmdqv : IDisposable
{
    private readonly Lock _lock = new(); // guards _config, _intMask, _alloc, the VINTFs' CONFIG, SID pairs and ErrorMap, the queues' GERROR/GERRORN and Owner/LogicalIndex ↔ Lvcmdqs; the consumer and Locate read single words of them without it
    private readonly Vcmdq[] _queues;
    private readonly Vintf[] _vintfs;
    private readonly uint[] _alloc;
    private readonly QueueEngine? _engine;
    private readonly bool _ownsEngine;
    private uint _config;
    private ulong _intMask; // VINTF_INT_MASK: bit v masks VINTF v's interrupt
    private long _errors;
    private long _faults;
    private long _holdTickets;

    /// <summary>A CMDQV in front of <paramref name="smmu"/>: its queues' commands execute on that SMMU.</summary>
    public Tegra241Cmdqv(string name, CmdqvFeatures features, SmmuV3 smmu, QueueEngine? engine = null)
        : this(name, features, smmu, smmu.Memory, smmu.Features.CmdqLog2Size, smmu.Mode, engine)
    {
    }

    /// <summary>
    /// A CMDQV whose queues' commands (already filtered and rewritten for their VINTF) go to
    /// <paramref name="target"/>: an SMMU, or the host driver's software path for a software VCMDQ.
    /// </summary>
    public Tegra241Cmdqv(string name, CmdqvFeatures features, ICommandExecutor target, Iommufd.Core.Memory.PhysicalMemory memory, int maxQueueLog2, ExecutionMode mode, QueueEngine? engine = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(memory);
        var errors = features.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(features));
        }

        Name = name;
        Features = features;
        Target = target;
        _queues = new Vcmdq[features.Vcmdqs];
        for (int q = 0; q < _queues.Length; q++)
        {
            _queues[q] = new Vcmdq(this, q, new CommandQueue(memory, maxQueueLog2, $"{name}.vcmdq{q}"));
        }

        _vintfs = new Vintf[features.Vintfs];
        for (int v = 0; v < _vintfs.Length; v++)
        {
            _vintfs[v] = new Vintf(v, features.SidPairs, features.LvcmdqsPerVintf);
        }

        _alloc = new uint[features.Vcmdqs];
        if (mode == ExecutionMode.Threaded)
        {
            _engine = engine ?? new QueueEngine(2, name);
            _ownsEngine = engine is null;
        }
    }

    public string Name { get; }

    public CmdqvFeatures Features { get; }

    /// <summary>What executes the queues' commands after the VINTF filter: the SMMU, or a software path.</summary>
    public ICommandExecutor Target { get; }

    public bool Enabled => (Volatile.Read(ref _config) & CmdqvRegister.CONFIG_CMDQV_EN) != 0;

    /// <summary>Queue errors raised so far.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>The CMDQV interrupt (one line for every VINTF's errors).</summary>
    public event Action? Interrupt;

    /// <summary>Queue faults contained so far (see <see cref="QueueFaulted"/>).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>
    /// Selects the commands a guest-owned queue may not issue that the host wants to run for the guest. Called on
    /// the consuming thread; it must only look at the command (it may not block).
    /// </summary>
    public Func<SmmuCommand, bool>? HoldForHost { get; set; }

    /// <summary>
    /// Raised (on the consuming thread, no lock held) when a queue stopped on a command <see cref="HoldForHost"/>
    /// selected: the command and the ticket to pass to <see cref="ReleaseHeld"/>.
    /// </summary>
    public event Action<Vcmdq, SmmuCommand, long>? HostHold;

    /// <summary>
    /// Raised when consuming a queue threw (a model bug, never guest input): that queue stops until it is reset
    /// (disabled and enabled, or reallocated). Handlers run on the consuming thread.
    /// </summary>
    public event Action<Vcmdq, Exception>? QueueFaulted;

    public IReadOnlyList<Vintf> Vintfs => _vintfs;

    public IReadOnlyList<Vcmdq> Queues => _queues;

    /// <summary>VINTF_ERR_MAP: one bit per VINTF with an active queue error.</summary>
    public ulong VintfErrorMap
    {
        get
        {
            lock (_lock)
            {
                ulong map = 0;
                foreach (var v in _vintfs)
                {
                    map |= v.ErrorMap != 0 ? 1UL << v.Index : 0;
                }

                return map;
            }
        }
    }

    /// <summary>CMDQ_ERR_MAP: one bit per global VCMDQ with an active error.</summary>
    public UInt128 CmdqErrorMap
    {
        get
        {
            UInt128 map = 0;
            foreach (var q in _queues)
            {
                map |= q.ErrorActive ? UInt128.One << q.GlobalIndex : 0;
            }

            return map;
        }
    }

    /// <summary>Reads a register anywhere in the CMDQV's MMIO space.</summary>
    public ulong ReadRegister(uint offset, int size = 4)
    {
        if (offset < CmdqvRegister.PageSize)
        {
            return ReadConfigPage(offset, size);
        }

        var (queue, register, page1) = Locate(offset);
        return queue is null ? 0 : ReadQueue(queue, register, page1, size);
    }

    /// <summary>Writes a register anywhere in the CMDQV's MMIO space.</summary>
    public void WriteRegister(uint offset, ulong value, int size = 4)
    {
        if (offset < CmdqvRegister.PageSize)
        {
            WriteConfigPage(offset, value, size);
            return;
        }

        var (queue, register, page1) = Locate(offset);
        if (queue is not null)
        {
            WriteQueue(queue, register, page1, value, size);
        }
    }

    /// <summary>Reads VINTF <paramref name="vintf"/>'s logical-queue page 0 (what the guest's mmap shows).</summary>
    public ulong ReadVintfPage0(int vintf, uint offset, int size) =>
        ReadRegister(CmdqvRegister.VintfPagesBase + ((uint)vintf * CmdqvRegister.VintfPagesStride) + offset, size);

    /// <summary>Writes VINTF <paramref name="vintf"/>'s logical-queue page 0.</summary>
    public void WriteVintfPage0(int vintf, uint offset, ulong value, int size) =>
        WriteRegister(CmdqvRegister.VintfPagesBase + ((uint)vintf * CmdqvRegister.VintfPagesStride) + offset, value, size);

    public void Dispose()
    {
        if (_ownsEngine)
        {
            _engine!.Dispose();
        }
    }

    internal bool HoldsForHost(in SmmuCommand command) => HoldForHost?.Invoke(command) == true;

    /// <summary>
    /// The host's answer for a held command: <paramref name="executed"/> moves CONS past it and the queue goes on;
    /// otherwise the queue stops on it with CERROR_ILL, reported as any queue error. A ticket from before a reset
    /// of the queue changes nothing.
    /// </summary>
    public void ReleaseHeld(Vcmdq queue, long ticket, bool executed)
    {
        ArgumentNullException.ThrowIfNull(queue);
        bool raise = false;
        lock (queue.ConsumeLock)
        {
            if (ticket == 0 || queue.HeldTicket != ticket)
            {
                return;
            }

            queue.HeldTicket = 0;
            if (executed)
            {
                queue.Queue.CompleteHeld();
            }
            else
            {
                queue.Queue.FailHeld(CommandError.CERROR_ILL);
                raise = RecordQueueError(queue);
            }
        }

        if (raise)
        {
            Interrupt?.Invoke();
        }

        if (executed)
        {
            Kick(queue);
        }
    }

    internal void OnQueueFault(Vcmdq queue, Exception fault)
    {
        Interlocked.Increment(ref _faults);
        QueueFaulted?.Invoke(queue, fault);
    }

    /// <summary>
    /// Consumes one slice of a queue; on an error records it in the maps and raises the interrupt. True when the
    /// queue has entries left for its next slice.
    /// </summary>
    internal bool Consume(Vcmdq queue)
    {
        // One consumer per queue at a time, from the first fetch to the error report: two engine threads may both
        // have been woken for it, and a batching target keeps per-queue state between Consume and Flush.
        bool more;
        bool raise = false;
        long ticket = 0;
        SmmuCommand held = default;
        lock (queue.ConsumeLock)
        {
            var error = ConsumeLocked(queue, out more);
            if (error == CommandQueue.Hold)
            {
                ticket = Interlocked.Increment(ref _holdTickets);
                queue.HeldTicket = ticket;
                held = queue.HeldCommand;
            }
            else if (error != CommandError.CERROR_NONE)
            {
                raise = RecordQueueError(queue);
            }
        }

        if (raise)
        {
            Interrupt?.Invoke();
        }

        if (ticket != 0)
        {
            var handler = HostHold;
            if (handler is null)
            {
                ReleaseHeld(queue, ticket, executed: false);
            }
            else
            {
                handler(queue, held, ticket);
            }
        }

        return more;
    }

    private CommandError ConsumeLocked(Vcmdq queue, out bool more)
    {
        more = false;
        if (!Enabled || !queue.Enabled || queue.ErrorActive || queue.Held || queue.Owner is not { Enabled: true })
        {
            return CommandError.CERROR_NONE;
        }

        var executor = queue;
        var error = queue.Queue.Consume(ref executor, QueueEngine.SliceEntries, out more);
        if (Target is IBatchingExecutor batching)
        {
            // Before a hold too: the commands before the held one take effect before the host runs it.
            var flushed = batching.Flush(queue.Queue, error == CommandQueue.Hold ? CommandError.CERROR_NONE : error);
            if (error != CommandQueue.Hold)
            {
                error = flushed;
            }
            else if (flushed != CommandError.CERROR_NONE)
            {
                error = flushed; // the flush failed: report that on the held command, which the host then never runs
                queue.Queue.FailHeld(flushed);
            }
        }

        if (error != CommandError.CERROR_NONE)
        {
            more = false; // stopped: nothing more until the error is acknowledged or the hold released
        }

        return error;
    }

    /// <summary>The queue's CMDQ_ERR becomes active: its GERROR, its VINTF's LVCMDQ_ERR_MAP bit. True to interrupt.</summary>
    private bool RecordQueueError(Vcmdq queue)
    {
        bool raise;
        lock (_lock)
        {
            // GERROR toggles only to activate an inactive error (Arm IHI 0070 §6.3.19, as the SMMU's own GERROR).
            // Software may have toggled GERRORN while the queue ran (CONSTRAINED UNPREDICTABLE for an inactive
            // error); toggling GERROR then would make the error inactive and lose it, leaving the queue stopped on
            // CONS.ERR with nothing to acknowledge.
            if (!queue.ErrorActive)
            {
                queue.Gerror ^= 1;
            }

            var owner = queue.Owner;
            if (owner is not null)
            {
                owner.ErrorMap |= UInt128.One << queue.LogicalIndex;
            }

            // A queue mapped to no VINTF still raises: nothing names a bit that could mask it.
            raise = owner is null || (_intMask & (1UL << owner.Index)) == 0;
        }

        Interlocked.Increment(ref _errors);
        return raise;
    }

    private void Kick(Vcmdq queue)
    {
        if (_engine is null)
        {
            queue.Work.RunInline();
        }
        else
        {
            _engine.Kick(queue.Work); // on the ringing thread when the queue is free, unless the engine is a host worker
        }
    }

    /// <summary>The queue was disabled: a hold or a fault from before is forgotten, so enabling starts afresh.</summary>
    private static void ResetQueueState(Vcmdq queue)
    {
        lock (queue.ConsumeLock)
        {
            queue.HeldTicket = 0;
        }

        queue.Work.Repair();
    }

    /// <summary>Finds the VCMDQ an address in the global or a VINTF's queue pages refers to.</summary>
    private (Vcmdq? Queue, uint Register, bool Page1) Locate(uint offset)
    {
        if (offset < CmdqvRegister.VintfPagesBase)
        {
            bool page1 = offset >= CmdqvRegister.GlobalVcmdqPage1;
            uint within = offset & (CmdqvRegister.PageSize - 1);
            int q = (int)(within / CmdqvRegister.VcmdqStride);
            return (q < _queues.Length ? _queues[q] : null, within % CmdqvRegister.VcmdqStride, page1);
        }

        uint rel = offset - CmdqvRegister.VintfPagesBase;
        int v = (int)(rel / CmdqvRegister.VintfPagesStride);
        uint inVintf = rel % CmdqvRegister.VintfPagesStride;
        if (v >= _vintfs.Length)
        {
            return (null, 0, false);
        }

        bool isPage1 = inVintf >= CmdqvRegister.PageSize;
        uint inPage = inVintf & (CmdqvRegister.PageSize - 1);
        int lq = (int)(inPage / CmdqvRegister.VcmdqStride);

        // A logical slot whose global queue is not mapped (CMDQ_ALLOC.ALLOCATED = 0, as after
        // tegra241-cmdqv.c tegra241_cmdqv_hw_reset() or tegra241_vcmdq_unmap_lvcmdq()) reads as zero and ignores
        // writes. The driver never touches such a slot (tegra241_vcmdq_hw_init() and tegra241_vcmdq_hw_deinit()
        // run only while the queue is mapped) and nothing states what the hardware answers, so the model takes the
        // safe choice: a VINTF reaches no queue it was not given. The global queue keeps its registers and does
        // not consume until it is mapped again.
        var lvcmdqs = _vintfs[v].Lvcmdqs;
        return (lq < lvcmdqs.Length ? lvcmdqs[lq] : null, inPage % CmdqvRegister.VcmdqStride, isPage1);
    }

    private static ulong ReadQueue(Vcmdq queue, uint register, bool page1, int size)
    {
        if (page1)
        {
            return register switch
            {
                CmdqvRegister.VCMDQ_BASE => size == 8 ? queue.Queue.Base : (uint)queue.Queue.Base,
                CmdqvRegister.VCMDQ_BASE + 4 => queue.Queue.Base >> 32,
                CmdqvRegister.VCMDQ_CONS_INDX_BASE => size == 8 ? queue.ConsIndexBase : (uint)queue.ConsIndexBase,
                CmdqvRegister.VCMDQ_CONS_INDX_BASE + 4 => queue.ConsIndexBase >> 32,
                _ => 0,
            };
        }

        return register switch
        {
            CmdqvRegister.VCMDQ_CONS => queue.Queue.Cons,
            CmdqvRegister.VCMDQ_PROD => queue.Queue.Prod,
            CmdqvRegister.VCMDQ_CONFIG => queue.Config,
            CmdqvRegister.VCMDQ_STATUS => queue.Status,
            CmdqvRegister.VCMDQ_GERROR => queue.Gerror,
            CmdqvRegister.VCMDQ_GERRORN => queue.Gerrorn,
            _ => 0,
        };
    }

    private void WriteQueue(Vcmdq queue, uint register, bool page1, ulong value, int size)
    {
        uint v32 = (uint)value;
        if (page1)
        {
            switch (register)
            {
                case CmdqvRegister.VCMDQ_BASE:
                    queue.Queue.Base = size == 8 ? value : (queue.Queue.Base & ~0xFFFF_FFFFUL) | v32;
                    break;
                case CmdqvRegister.VCMDQ_BASE + 4:
                    queue.Queue.Base = (queue.Queue.Base & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
                    break;
                case CmdqvRegister.VCMDQ_CONS_INDX_BASE:
                    queue.ConsIndexBase = value;
                    break;
            }

            return;
        }

        switch (register)
        {
            case CmdqvRegister.VCMDQ_PROD:
                queue.Queue.Prod = v32;
                if (_engine is null)
                {
                    queue.Work.RunInline();
                }
                else
                {
                    _engine.Ring(queue.Work); // a host worker polling this PROD sees the store itself
                }

                break;
            case CmdqvRegister.VCMDQ_CONS:
                if (!queue.Enabled)
                {
                    queue.Queue.Cons = v32;
                }

                break;
            case CmdqvRegister.VCMDQ_CONFIG:
                bool wasEnabled = queue.Enabled;
                queue.Config = v32 & CmdqvRegister.VCMDQ_EN;
                if (!queue.Enabled)
                {
                    ResetQueueState(queue); // a disabled queue holds nothing; enabling again starts afresh
                }

                if (queue.Enabled && !wasEnabled)
                {
                    Kick(queue);
                }

                break;
            case CmdqvRegister.VCMDQ_GERRORN:
                lock (_lock)
                {
                    queue.Gerrorn = v32 & 1;
                    if (!queue.ErrorActive && queue.Owner is { } owner)
                    {
                        owner.ErrorMap &= ~(UInt128.One << queue.LogicalIndex);
                    }
                }

                if (!queue.ErrorActive)
                {
                    Kick(queue); // fetch again from CONS, as the SMMU does after GERRORN (spec §7.1)
                }

                break;
        }
    }

    private ulong ReadConfigPage(uint offset, int size)
    {
        lock (_lock)
        {
            if (offset >= CmdqvRegister.VintfBase && offset < CmdqvRegister.VintfBase + ((uint)_vintfs.Length * CmdqvRegister.VintfStride))
            {
                var vintf = _vintfs[(offset - CmdqvRegister.VintfBase) / CmdqvRegister.VintfStride];
                uint r = (offset - CmdqvRegister.VintfBase) % CmdqvRegister.VintfStride;
                return r switch
                {
                    CmdqvRegister.VINTF_CONFIG => vintf.Config,
                    CmdqvRegister.VINTF_STATUS => vintf.Config & CmdqvRegister.VINTF_CONFIG_EN,
                    >= CmdqvRegister.VINTF_SID_MATCH and < CmdqvRegister.VINTF_SID_REPLACE => PairRegister(vintf, r - CmdqvRegister.VINTF_SID_MATCH, match: true),
                    >= CmdqvRegister.VINTF_SID_REPLACE and < CmdqvRegister.VINTF_LVCMDQ_ERR_MAP => PairRegister(vintf, r - CmdqvRegister.VINTF_SID_REPLACE, match: false),
                    >= CmdqvRegister.VINTF_LVCMDQ_ERR_MAP and < CmdqvRegister.VINTF_LVCMDQ_ERR_MAP + 16 => Slice(vintf.ErrorMap, (int)(r - CmdqvRegister.VINTF_LVCMDQ_ERR_MAP), size),
                    _ => 0,
                };
            }

            if (offset >= CmdqvRegister.CMDQ_ALLOC && offset < CmdqvRegister.CMDQ_ALLOC + ((uint)_alloc.Length * 4))
            {
                return _alloc[(offset - CmdqvRegister.CMDQ_ALLOC) / 4];
            }

            if (offset >= CmdqvRegister.CMDQ_ERR_MAP && offset < CmdqvRegister.CMDQ_ERR_MAP + 16)
            {
                return Slice(CmdqErrorMap, (int)(offset - CmdqvRegister.CMDQ_ERR_MAP), size);
            }

            return offset switch
            {
                CmdqvRegister.CONFIG => _config,
                CmdqvRegister.PARAM => Features.Param,
                CmdqvRegister.STATUS => _config & CmdqvRegister.CONFIG_CMDQV_EN,
                CmdqvRegister.VINTF_ERR_MAP => (uint)VintfErrorMap,
                CmdqvRegister.VINTF_ERR_MAP + 4 => (uint)(VintfErrorMap >> 32),
                CmdqvRegister.VINTF_INT_MASK => size == 8 ? _intMask : (uint)_intMask,
                CmdqvRegister.VINTF_INT_MASK + 4 => _intMask >> 32,
                _ => 0,
            };
        }
    }

    private void WriteConfigPage(uint offset, ulong value, int size)
    {
        uint v32 = (uint)value;
        var kick = new List<Vcmdq>();
        lock (_lock)
        {
            if (offset >= CmdqvRegister.VintfBase && offset < CmdqvRegister.VintfBase + ((uint)_vintfs.Length * CmdqvRegister.VintfStride))
            {
                var vintf = _vintfs[(offset - CmdqvRegister.VintfBase) / CmdqvRegister.VintfStride];
                uint r = (offset - CmdqvRegister.VintfBase) % CmdqvRegister.VintfStride;
                switch (r)
                {
                    case CmdqvRegister.VINTF_CONFIG:
                        vintf.Config = v32 & (CmdqvRegister.VINTF_CONFIG_EN | (0xFFFFu << CmdqvRegister.VINTF_CONFIG_VMID_SHIFT) | CmdqvRegister.VINTF_CONFIG_HYP_OWN);
                        if (vintf.Enabled)
                        {
                            kick.AddRange(vintf.Lvcmdqs.OfType<Vcmdq>());
                        }

                        break;
                    case >= CmdqvRegister.VINTF_SID_MATCH and < CmdqvRegister.VINTF_SID_REPLACE when (r & 3) == 0:
                        int m = (int)((r - CmdqvRegister.VINTF_SID_MATCH) / 4);
                        if (m < vintf.SidPairs)
                        {
                            vintf.SetSidMatch(m, v32);
                        }

                        break;
                    case >= CmdqvRegister.VINTF_SID_REPLACE and < CmdqvRegister.VINTF_LVCMDQ_ERR_MAP when (r & 3) == 0:
                        int s = (int)((r - CmdqvRegister.VINTF_SID_REPLACE) / 4);
                        if (s < vintf.SidPairs)
                        {
                            vintf.SetSidReplace(s, v32);
                        }

                        break;
                }
            }
            else if (offset >= CmdqvRegister.CMDQ_ALLOC && offset < CmdqvRegister.CMDQ_ALLOC + ((uint)_alloc.Length * 4))
            {
                int q = (int)((offset - CmdqvRegister.CMDQ_ALLOC) / 4);
                SetAllocation(q, v32);
            }
            else if (offset == CmdqvRegister.CONFIG)
            {
                _config = v32 & CmdqvRegister.CONFIG_CMDQV_EN;
                if (Enabled)
                {
                    kick.AddRange(_queues);
                }
            }
            else if (offset == CmdqvRegister.VINTF_INT_MASK)
            {
                _intMask = size == 8 ? value : (_intMask & ~0xFFFF_FFFFUL) | v32;
            }
            else if (offset == CmdqvRegister.VINTF_INT_MASK + 4)
            {
                _intMask = (_intMask & 0xFFFF_FFFFUL) | ((ulong)v32 << 32);
            }
        }

        foreach (var q in kick)
        {
            Kick(q);
        }
    }

    /// <summary>CMDQ_ALLOC(q): maps global queue q as a VINTF's logical queue when ALLOCATED is set.</summary>
    private void SetAllocation(int q, uint value)
    {
        var queue = _queues[q];
        if (queue.Owner is { } previous && previous.Lvcmdqs[queue.LogicalIndex] == queue)
        {
            previous.Lvcmdqs[queue.LogicalIndex] = null;
        }

        queue.Owner = null;
        _alloc[q] = value;
        int vintf = (int)((value >> CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT) & 0x3F);
        int lidx = (int)((value >> CmdqvRegister.CMDQ_ALLOC_LVCMDQ_SHIFT) & 0x7F);
        if ((value & CmdqvRegister.CMDQ_ALLOC_ALLOCATED) != 0 && vintf < _vintfs.Length && lidx < Features.LvcmdqsPerVintf)
        {
            queue.Owner = _vintfs[vintf];
            queue.LogicalIndex = lidx;
            _vintfs[vintf].Lvcmdqs[lidx] = queue;
        }
    }

    private static ulong PairRegister(Vintf vintf, uint offset, bool match)
    {
        int pair = (int)(offset / 4);
        if (pair >= vintf.SidPairs)
        {
            return 0;
        }

        return match ? vintf.SidMatch(pair) : vintf.SidReplace(pair);
    }

    private static ulong Slice(UInt128 map, int byteOffset, int size)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(bytes, map);
        return size == 8 && byteOffset <= 8
            ? BinaryPrimitives.ReadUInt64LittleEndian(bytes[byteOffset..])
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes[byteOffset..]);
    }
}
