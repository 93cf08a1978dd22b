using System.Buffers;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.Logging;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// The host driver of one emulated SMMUv3 (the kernel's <c>arm_smmu_device</c> with its <c>iommu_ops</c>): it
/// probes the ID registers, owns the stream table, the host command queue and the event queue, writes STEs for
/// attached domains and relays faults to vEVENTQs.
/// </summary>
/// <remarks>
/// Paging domains are stage-2 tables (every VMID-tagged domain can then be a nest parent), or stage-1 tables on an
/// SMMU without stage 2; devices that are not attached get an aborting STE. The stream table has two levels when
/// the SMMU offers them and has more than 256 StreamIDs.
/// </remarks>
internal sealed partial class SmmuV3Host : IIommuInstance, IDisposable
{
    private const int EventQueueLog2Size = 8;

    /// <summary>StreamID bits resolved by a level-2 array (arm-smmu-v3.h STRTAB_SPLIT).</summary>
    private const int StrtabSplit = 8;

    private readonly ILogger _logger;
    private readonly PhysicalMemory _memory;
    private readonly PhysicalBank _streamTable; // the linear table, or the level-1 table of a 2-level one
    private readonly PhysicalBank?[]? _level2; // level-2 arrays by level-1 index, created on probe (2-level only)
    private readonly Lock _level2Lock = new(); // guards the writes of _level2 and the level-1 descriptors (readers use Volatile.Read)
    private readonly PhysicalBank _commandQueueMemory;
    private readonly PhysicalBank _eventQueueMemory;
    private readonly int _streamTableLog2;
    private readonly VmidAllocator _vmids;
    private readonly VmidAllocator _asids;
    private readonly Lock _mastersLock = new(); // guards _masters and every master's Domain, Vmaster and VirtualSid
    private readonly Dictionary<uint, Master> _masters = [];
    private readonly int _invalidationAttempts;
    private readonly FailNth? _faults;
    private readonly Lock _viommusLock = new(); // guards _viommus
    private readonly List<(SmmuV3Viommu Viommu, IommuViommuType Type)> _viommus = [];
    private ISmmuV3Implementation? _implementation;

    internal SmmuV3Host(SmmuV3InstanceOptions options, PhysicalMemory memory, ILogger logger, FailNth? faults = null, SmmuV3Metrics? metrics = null)
    {
        Metrics = metrics ?? new SmmuV3Metrics(null);
        _logger = logger;
        _faults = faults;
        _memory = memory;
        _invalidationAttempts = options.InvalidationAttempts;
        SyncTimeout = options.SyncTimeout;
        Name = options.Name;
        Hardware = new SmmuV3(options.Name, options.Features, memory, options.ExecutionMode);
        Probed = ProbedFeatures.FromRegisters(Hardware);
        _vmids = new VmidAllocator(Probed.Vmid16 ? 16 : 8);
        _asids = new VmidAllocator(Probed.Asid16 ? 16 : 8);

        // Stream table (arm-smmu-v3.c arm_smmu_init_strtab()): two levels when the SMMU has them and more StreamIDs
        // than one level-2 array holds, split at STRTAB_SPLIT with at most 2^16 level-1 descriptors, level-2 arrays
        // made as devices are probed; otherwise linear. Every STE aborts until its device is attached.
        if (Probed.TwoLevelStreamTable && Probed.SidBits > StrtabSplit)
        {
            _streamTableLog2 = Math.Min(Probed.SidBits, StrtabSplit + 16);
            int l1Entries = 1 << (_streamTableLog2 - StrtabSplit);
            _streamTable = memory.Allocate(Math.Max(l1Entries * 8L, 64));
            _level2 = new PhysicalBank?[l1Entries];
            Hardware.WriteRegister((uint)SmmuRegister.STRTAB_BASE, _streamTable.BaseAddress, 8);
            Hardware.WriteRegister((uint)SmmuRegister.STRTAB_BASE_CFG, (uint)_streamTableLog2 | (StrtabSplit << 6) | (1u << 16));
        }
        else
        {
            _streamTableLog2 = Math.Min(Probed.SidBits, 16);
            _streamTable = memory.Allocate((long)StreamTableEntry.Size << _streamTableLog2);
            Hardware.WriteRegister((uint)SmmuRegister.STRTAB_BASE, _streamTable.BaseAddress, 8);
            Hardware.WriteRegister((uint)SmmuRegister.STRTAB_BASE_CFG, (uint)_streamTableLog2);
        }

        int cmdqLog2 = Math.Min(options.HostQueueLog2Size, Probed.CmdqLog2Size);
        _commandQueueMemory = memory.Allocate(16L << cmdqLog2, (ulong)Math.Max(16L << cmdqLog2, PhysicalMemory.PageSize));
        Hardware.WriteRegister((uint)SmmuRegister.CMDQ_BASE, _commandQueueMemory.BaseAddress | (uint)cmdqLog2, 8);

        _eventQueueMemory = memory.Allocate(SmmuEvent.Size << EventQueueLog2Size);
        Hardware.WriteRegister((uint)SmmuRegister.EVENTQ_BASE, _eventQueueMemory.BaseAddress | EventQueueLog2Size, 8);

        // CR2 as arm-smmu-v3.c arm_smmu_device_reset() programs it: PTM (no broadcast TLB maintenance) and
        // RECINVSID (record C_BAD_STREAMID for StreamIDs that reach no STE).
        Hardware.WriteRegister((uint)SmmuRegister.CR2, SmmuV3.Cr2Ptm | SmmuV3.Cr2RecInvSid);

        Hardware.Interrupt += OnInterrupt;
        Hardware.WriteRegister((uint)SmmuRegister.IRQ_CTRL, 0x5); // GERROR and EVENTQ interrupts
        Hardware.WriteRegister((uint)SmmuRegister.CR0, SmmuV3.Cr0SmmuEn | SmmuV3.Cr0EventqEn | SmmuV3.Cr0CmdqEn);

        MainQueue = new HostCommandQueue(
            Hardware.CommandQueue,
            prod => Hardware.WriteRegister((uint)SmmuRegister.CMDQ_PROD, prod),
            () => Hardware.IsErrorActive(GlobalError.CMDQ_ERR),
            () => AcknowledgeGlobalErrors(GlobalError.CMDQ_ERR, waitForTurn: true),
            options.SyncTimeout,
            logger,
            Metrics);
        Hardware.QueueFaulted += OnQueueFaulted;
        Log.Probed(_logger, Name, Probed);
    }

    public string Name { get; }

    /// <summary>The driver's instruments (the CMDQV's host queues count on them too).</summary>
    internal SmmuV3Metrics Metrics { get; }

    /// <summary>The emulated SMMU this driver runs.</summary>
    public SmmuV3 Hardware { get; }

    /// <summary>What the probe read from the ID registers.</summary>
    public ProbedFeatures Probed { get; }

    /// <summary>How long a host queue waits for a CMD_SYNC (and for space) before ETIMEDOUT.</summary>
    public TimeSpan SyncTimeout { get; }

    /// <summary>The SMMU's main command queue as the host drives it.</summary>
    public HostCommandQueue MainQueue { get; }

    /// <summary>The implementation extension (Tegra241 CMDQV), if any.</summary>
    public ISmmuV3Implementation? Implementation => _implementation;

    /// <summary>The physical memory the SMMU and its tables live in.</summary>
    public PhysicalMemory Memory => _memory;

    internal void SetImplementation(ISmmuV3Implementation? implementation) => _implementation = implementation;

    public void ProbeDevice(EndpointDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.StreamId >> _streamTableLog2 != 0)
        {
            throw new ArgumentException($"{device}: StreamID beyond the stream table ({_streamTableLog2} bits)", nameof(device));
        }

        EnsureLevel2(device.StreamId);
        Hardware.ConnectEndpoint(device);
        lock (_mastersLock)
        {
            _masters[device.StreamId] = new Master(device);
        }

        WriteSte(device.StreamId, AbortSte);
        _implementation?.ProbeDevice(device);
    }

    public Errno GetHwInfo(EndpointDevice device, IommuHwInfoType requestedType, Span<byte> data, out HwInfoResult result)
    {
        if (requestedType is IommuHwInfoType.Default or IommuHwInfoType.ArmSmmuV3)
        {
            var info = new IommuHwInfoArmSmmuV3
            {
                Iidr = (uint)Hardware.ReadRegister((uint)SmmuRegister.IIDR),
                Aidr = (uint)Hardware.ReadRegister((uint)SmmuRegister.AIDR),
            };
            for (int i = 0; i < 6; i++)
            {
                info.Idr[i] = (uint)Hardware.ReadRegister((uint)SmmuRegister.IDR0 + ((uint)i * 4));
            }

            MemoryMarshal.Write(data, in info);
            result = new HwInfoResult(IommuHwInfoType.ArmSmmuV3, Marshal.SizeOf<IommuHwInfoArmSmmuV3>(), MaxPasidLog2: MaxPasidLog2(device));
            return Errno.Success;
        }

        if (_implementation is not null)
        {
            var rc = _implementation.GetHwInfo(requestedType, data, out result);
            result = result with { MaxPasidLog2 = MaxPasidLog2(device) };
            return rc;
        }

        result = default;
        return Errno.EOPNOTSUPP;
    }

    /// <summary>
    /// out_max_pasid_log2 (iommufd device.c iommufd_get_hw_info): log2 of dev->iommu->max_pasids, the smaller of
    /// the device's PASID capability (pci_max_pasids) and the SMMU's 2^SSIDSIZE (arm_smmu_device_hw_probe sets
    /// iommu.max_pasids); 0 for a device without the capability.
    /// </summary>
    private byte MaxPasidLog2(EndpointDevice device) => (byte)Math.Min(device.PasidBits, Hardware.Features.SsidBits);

    /// <summary>
    /// A paging domain as arm-smmu-v3.c arm_smmu_domain_alloc_paging_flags() allocates it: NEST_PARENT needs both
    /// stages (ARM_SMMU_FEAT_NESTING, EOPNOTSUPP otherwise) and is a stage-2 domain; an SMMU without stage 2 gets a
    /// stage-1 domain. A plain domain on an SMMU with both stages is stage 2 here (Linux prefers stage 1; see the
    /// README), so that every host domain can back a vIOMMU.
    /// </summary>
    public Errno AllocPagingDomain(EndpointDevice device, IommuHwptAllocFlags flags, out IPagingDomain domain)
    {
        domain = null!;
        if ((flags & ~(IommuHwptAllocFlags.NestParent | IommuHwptAllocFlags.AllocPasid)) != 0)
        {
            return Errno.EOPNOTSUPP; // no dirty tracking (HTTU is not modelled)
        }

        bool nestParent = (flags & IommuHwptAllocFlags.NestParent) != 0;
        if (nestParent && !(Probed.Stage1 && Probed.Stage2))
        {
            return Errno.EOPNOTSUPP;
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM; // the domain's allocation, after the flag checks
        }

        if (!Probed.Stage2)
        {
            if (!_asids.TryAllocate(out ushort asid))
            {
                return Errno.ENOSPC;
            }

            domain = new SmmuS1Domain(this, asid);
            return Errno.Success;
        }

        if (!_vmids.TryAllocate(out ushort vmid))
        {
            return Errno.ENOSPC;
        }

        domain = new SmmuS2Domain(this, vmid, nestParent);
        return Errno.Success;
    }

    public bool SupportsViommu(EndpointDevice device, IommuViommuType type) => type switch
    {
        IommuViommuType.ArmSmmuV3 => Probed.Stage1 && Probed.Stage2,
        _ => Probed.Stage1 && Probed.Stage2 && _implementation?.SupportsViommu(type) == true,
    };

    public Errno InitViommu(IViommuContext context, EndpointDevice device, IommuViommuType type, IPagingDomain parent, UserData data, out IViommu viommu)
    {
        viommu = null!;
        if (parent is not SmmuS2Domain s2 || s2.Host != this)
        {
            return Errno.EINVAL;
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var core = new SmmuV3Viommu(this, context, s2);
        if (type == IommuViommuType.ArmSmmuV3)
        {
            viommu = core;
            TrackViommu(core, type);
            return Errno.Success;
        }

        var rc = _implementation is null ? Errno.EOPNOTSUPP : _implementation.InitViommu(core, type, data, out viommu);
        if (rc == Errno.Success)
        {
            TrackViommu(core, type);
        }

        return rc;
    }

    /// <summary>The live vIOMMUs of this SMMU with their types, for <see cref="Diagnostics.SmmuV3Diagnostics"/>.</summary>
    internal (SmmuV3Viommu Viommu, IommuViommuType Type)[] Viommus()
    {
        lock (_viommusLock)
        {
            return [.. _viommus];
        }
    }

    private void TrackViommu(SmmuV3Viommu viommu, IommuViommuType type)
    {
        lock (_viommusLock)
        {
            _viommus.Add((viommu, type));
        }
    }

    /// <summary>Called when <paramref name="viommu"/> is destroyed.</summary>
    internal void ForgetViommu(SmmuV3Viommu viommu)
    {
        lock (_viommusLock)
        {
            _viommus.RemoveAll(v => v.Viommu == viommu);
        }
    }

    /// <summary>
    /// A fault-injection point of the driver and its implementation (the core's <see cref="FailNth"/>, as the
    /// kernel's allocations fail under iommufd_fail_nth.c): true when this allocation must fail with ENOMEM.
    /// </summary>
    internal bool AllocationFails() => _faults?.ShouldFail() == true;

    public Errno Attach(EndpointDevice device, IIommuDomain domain)
    {
        var master = GetMaster(device);
        StreamTableEntry ste;
        SmmuV3Viommu? vmaster = null;
        ulong vsid = 0;
        switch (domain)
        {
            case SmmuS2Domain s2 when s2.Host == this:
                ste = s2.MakeSte(ats: device.AtsCapable);
                break;
            case SmmuS1Domain s1 when s1.Host == this:
                ste = s1.MakeSte(ats: device.AtsCapable);
                break;
            case SmmuNestedDomain nested when nested.Viommu.Host == this:
                if (nested.IsStage1 && !nested.Viommu.Context.TryGetVirtId(device, out vsid))
                {
                    return Errno.ENOENT; // allocate the vDEVICE before attaching an S1 nested domain
                }

                ste = nested.MakeSte(ats: device.AtsCapable);
                vmaster = nested.IsStage1 ? nested.Viommu : null;
                break;
            default:
                return Errno.EINVAL;
        }

        IIommuDomain? old;
        lock (_mastersLock)
        {
            old = master.Domain;
            master.Domain = domain;
            master.Vmaster = vmaster;
            master.VirtualSid = vsid;
        }

        // As Linux's attach, this cannot fail once the STE is written; an invalidation that did not complete is
        // logged and counted (Invalidate).
        WriteSte(device.StreamId, ste);
        if (old is not null && device.AtsCapable)
        {
            InvalidateAtc(device.StreamId);
        }

        return Errno.Success;
    }

    public void Detach(EndpointDevice device)
    {
        var master = GetMaster(device);
        lock (_mastersLock)
        {
            master.Domain = null;
            master.Vmaster = null;
        }

        // Returns once the SMMU dropped the old STE (and the ATC its translations): CFGI_STE + CMD_SYNC, retried
        // on a timeout; one that never completes is logged and counted (the contract has no errno, as in Linux).
        WriteSte(device.StreamId, AbortSte);
        if (device.AtsCapable)
        {
            InvalidateAtc(device.StreamId);
        }
    }

    public DmaStatus Dma(EndpointDevice device, ulong iova, Span<byte> buffer, DmaDirection direction) =>
        Dma(device, null, iova, buffer, direction);

    /// <summary>A PASID is the transaction's SubstreamID (arm-smmu-v3.c: the SSID of the PASID TLP prefix).</summary>
    public DmaStatus Dma(EndpointDevice device, uint? pasid, ulong iova, Span<byte> buffer, DmaDirection direction)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Hardware.Dma(device.StreamId, pasid, iova, buffer, direction);
    }

    /// <summary>
    /// Issues host commands in batches of at most 63 plus a CMD_SYNC each. Every command is checked against the
    /// implementation's secondary queue; runs it cannot take go to the main queue, in order, each run synced
    /// before the next starts, so the CMD_SYNC guarantee holds for the whole list. Returns the first error and
    /// how many commands completed before it.
    /// </summary>
    public Errno Issue(ReadOnlySpan<SmmuCommand> commands, out int completed)
    {
        completed = 0;
        var secondary = _implementation?.GetSecondaryQueue();
        while (completed < commands.Length)
        {
            var queue = MainQueue;
            var rest = commands[completed..];
            int run = Math.Min(rest.Length, HostCommandQueue.MaxBatch);
            if (secondary?.Supports is { } supports)
            {
                bool onSecondary = supports(rest[0]);
                int n = 1;
                while (n < run && supports(rest[n]) == onSecondary)
                {
                    n++;
                }

                run = n;
                queue = onSecondary ? secondary : MainQueue;
            }
            else if (secondary is not null)
            {
                queue = secondary;
            }

            var rc = queue.Issue(rest[..run], out int failed);
            if (rc != Errno.Success)
            {
                completed += Math.Clamp(failed, 0, run);
                return rc;
            }

            completed += run;
        }

        return Errno.Success;
    }

    /// <summary>Stops the implementation's and the SMMU's engine threads and frees the host's tables and queues.</summary>
    public void Dispose()
    {
        (_implementation as IDisposable)?.Dispose();
        Hardware.Interrupt -= OnInterrupt;
        Hardware.QueueFaulted -= OnQueueFaulted;
        Hardware.Dispose();
        _memory.Free(_streamTable);
        foreach (var level2 in _level2 ?? [])
        {
            if (level2 is not null)
            {
                _memory.Free(level2);
            }
        }
        _memory.Free(_commandQueueMemory);
        _memory.Free(_eventQueueMemory);
    }

    public override string ToString() => $"SMMUv3 '{Name}'";

    internal void FreeVmid(ushort vmid) => _vmids.Free(vmid);

    internal void FreeAsid(ushort asid) => _asids.Free(asid);

    /// <summary>
    /// Invalidates what the SMMU cached of [<paramref name="iova"/>, + <paramref name="length"/>) of a paging
    /// domain, as arm-smmu-v3.c arm_smmu_tlb_inv_range_domain() does: TLBIs by address of the range (TLBI_S2_IPA
    /// by VMID for a stage-2 domain, <paramref name="asid"/> &lt; 0; TLBI_NH_VA by ASID for a stage-1 domain), as
    /// range TLBIs with IDR3.RIL, otherwise one per page up to <see cref="MaxTlbiOps"/> pages and the whole VMID
    /// or ASID beyond (arm_smmu_inv_size_too_big()); a nest parent adds TLBI_NH_ALL of its VMID, since the guest's
    /// combined entries need not match TLBI_S2_IPA (spec §4.4.4); then the ATCs of its ATS devices. Returns once
    /// all completed (see <see cref="Invalidate"/>).
    /// </summary>
    internal Errno InvalidateRange(IIommuDomain domain, ushort vmid, int asid, bool nestParent, ulong iova, ulong length)
    {
        const int PageShift = 12;
        const byte LeafTtl = 3; // the host tables hold level-3 pages only (AArch64PageTable)
        Span<SmmuCommand> commands = stackalloc SmmuCommand[MaxTlbiOps + 2];
        int count = 0;
        ulong pages = length >> PageShift;
        if (Probed.RangeInvalidation)
        {
            while (pages != 0)
            {
                var (num, scale, covered) = RangeInvalidation.NextRange(pages);
                commands[count++] = ByAddress(vmid, asid, iova, LeafTtl, SmmuCommand.TG_4K, num, scale);
                iova += covered << PageShift;
                pages -= covered;
            }
        }
        else if (pages <= MaxTlbiOps)
        {
            for (ulong i = 0; i < pages; i++)
            {
                commands[count++] = ByAddress(vmid, asid, iova + (i << PageShift), 0, SmmuCommand.TG_ANY, 0, 0);
            }
        }
        else
        {
            commands[count++] = asid < 0 ? SmmuCommandBuilder.TlbiS12Vmall(vmid) : SmmuCommandBuilder.TlbiNhAsid(vmid, (ushort)asid);
        }

        if (nestParent)
        {
            commands[count++] = SmmuCommandBuilder.TlbiNhAll(vmid);
        }

        var rc = Errno.Success;
        count = AddAtcInvalidations(domain, commands, count, ref rc);
        var last = Invalidate(commands[..count], "unmap");
        return rc != Errno.Success ? rc : last;

        static SmmuCommand ByAddress(ushort vmid, int asid, ulong address, byte ttl, byte tg, byte num, byte scale) => asid < 0
            ? SmmuCommandBuilder.TlbiS2Ipa(vmid, address, leaf: true, ttl, tg, num, scale)
            : SmmuCommandBuilder.TlbiNhVa(vmid, (ushort)asid, address, leaf: true, ttl, tg, num, scale);
    }

    /// <summary>The most TLBIs by address one invalidation issues (arm-smmu-v3.c CMDQ_MAX_TLBI_OPS with 4K pages).</summary>
    internal const int MaxTlbiOps = 512;

    /// <summary>
    /// Moves the live STE of <paramref name="sid"/> to <paramref name="ste"/> in the order of arm-smmu-v3.c
    /// arm_smmu_write_entry() (<see cref="SteWriter"/>), one 64-bit store at a time with CFGI_STE + CMD_SYNC
    /// between steps, so the SMMU never fetches a torn configuration; returns the first failed sync.
    /// </summary>
    internal Errno WriteSte(uint sid, in StreamTableEntry ste)
    {
        var words = StreamTableWords(sid);
        Span<ulong> entry = stackalloc ulong[SteWriter.Qwords];
        for (int i = 0; i < SteWriter.Qwords; i++)
        {
            entry[i] = Volatile.Read(ref words[i]);
        }

        ReadOnlySpan<ulong> target = [ste.Word0, ste.Word1, ste.Word2, ste.Word3];
        var sink = new SteSink(this, sid);
        SteWriter.Write(entry, target, ref sink);
        return sink.Result;
    }

    /// <summary>
    /// The STE of <paramref name="sid"/> as it is in the stream table; false when the table holds none for it (a
    /// StreamID beyond the table, or a level-2 array not made yet because no device there was probed).
    /// </summary>
    internal bool TryReadSte(uint sid, out StreamTableEntry ste)
    {
        if (sid >> _streamTableLog2 != 0 || (_level2 is not null && Volatile.Read(ref _level2[sid >> StrtabSplit]) is null))
        {
            ste = default;
            return false;
        }

        ste = ReadSte(sid);
        return true;
    }

    /// <summary>The STE of <paramref name="sid"/> as it is in the stream table (what the SMMU fetches).</summary>
    internal StreamTableEntry ReadSte(uint sid)
    {
        var words = StreamTableWords(sid);
        return new StreamTableEntry(Volatile.Read(ref words[0]), Volatile.Read(ref words[1]), Volatile.Read(ref words[2]), Volatile.Read(ref words[3]));
    }

    /// <summary>The 64-bit words of the STE of <paramref name="sid"/> in the stream table (its level-2 array).</summary>
    private Span<ulong> StreamTableWords(uint sid)
    {
        var bank = _level2 is null ? _streamTable : Volatile.Read(ref _level2[sid >> StrtabSplit])!;
        uint index = _level2 is null ? sid : sid & ((1u << StrtabSplit) - 1);
        return MemoryMarshal.Cast<byte, ulong>(bank.Span.Slice((int)index * StreamTableEntry.Size, StreamTableEntry.Size));
    }

    /// <summary>
    /// Makes the level-2 array that holds <paramref name="sid"/> (arm-smmu-v3.c arm_smmu_init_l2_strtab()): 2^SPLIT
    /// aborting STEs, aligned to their size, then the level-1 descriptor in one 64-bit store (Span = SPLIT + 1) and
    /// a non-leaf CFGI_STE, which a level-1 descriptor that becomes valid needs (spec §5.1.1).
    /// </summary>
    private void EnsureLevel2(uint sid)
    {
        if (_level2 is null)
        {
            return;
        }

        uint l1 = sid >> StrtabSplit;
        lock (_level2Lock)
        {
            if (_level2[l1] is not null)
            {
                return;
            }

            long size = (long)StreamTableEntry.Size << StrtabSplit;
            var bank = _memory.Allocate(size, (ulong)size);
            var stes = MemoryMarshal.Cast<byte, ulong>(bank.Span);
            for (int i = 0; i < 1 << StrtabSplit; i++)
            {
                stes[i * (StreamTableEntry.Size / 8)] = AbortSte.Word0;
            }

            Volatile.Write(ref _level2[l1], bank);
            Volatile.Write(ref MemoryMarshal.Cast<byte, ulong>(_streamTable.Span)[(int)l1], bank.BaseAddress | (StrtabSplit + 1));
        }

        Span<SmmuCommand> cfgi = [SmmuCommandBuilder.CfgiSte(sid, leaf: false)];
        Invalidate(cfgi, "CFGI_STE");
    }

    /// <summary>Invalidates everything an ATS device cached (ATC_INV of the whole space).</summary>
    internal Errno InvalidateAtc(uint sid)
    {
        Span<SmmuCommand> inv = [SmmuCommandBuilder.AtcInv(sid, 0, ssv: false, global: false, address: 0, size: 52)];
        return Invalidate(inv, "ATC_INV");
    }

    /// <summary>
    /// Issues invalidations a caller's promise rests on (unmap, detach, domain free, STE update) and returns only
    /// once they completed or every attempt failed. A CMD_SYNC that timed out is tried again, each failure logged
    /// (as arm-smmu-v3.c's arm_smmu_cmdq_poll_until_sync logs "CMD_SYNC timeout"); the entries of a timed-out
    /// batch stay queued and run when the SMMU consumes again, and invalidations are idempotent, so trying again
    /// is safe. After the last attempt the failure is counted and returned.
    /// </summary>
    internal Errno Invalidate(ReadOnlySpan<SmmuCommand> commands, string operation)
    {
        var rc = Errno.Success;
        for (int attempt = 1; attempt <= _invalidationAttempts; attempt++)
        {
            rc = Issue(commands, out _);
            if (rc == Errno.Success)
            {
                return rc;
            }

            Log.InvalidationIncomplete(_logger, Name, operation, rc, attempt, _invalidationAttempts);
            if (rc != Errno.ETIMEDOUT)
            {
                break; // a command error does not go away by trying again
            }
        }

        Metrics.RecordIncomplete(Name, operation);
        return rc;
    }

    /// <summary>
    /// Appends an ATC_INV of everything for each ATS device attached to <paramref name="domain"/> to
    /// <paramref name="commands"/> from <paramref name="count"/> on, issuing the buffer whenever it fills (a
    /// failure of that goes to <paramref name="rc"/>); returns the new count. The devices are collected under the
    /// masters lock, and nothing is issued while it is held (arm-smmu-v3.c arm_smmu_atc_inv_domain() walks the
    /// domain's masters under a spinlock only to build the batch): an ATC invalidation can wait on the device for
    /// as long as the sync timeout, and attach, detach and event relay need the lock meanwhile.
    /// </summary>
    internal int AddAtcInvalidations(IIommuDomain domain, Span<SmmuCommand> commands, int count, ref Errno rc)
    {
        uint[] sids;
        int found = 0;
        lock (_mastersLock)
        {
            sids = ArrayPool<uint>.Shared.Rent(Math.Max(_masters.Count, 1));
            foreach (var m in _masters.Values)
            {
                if (m.Domain == domain && m.Device.AtsCapable)
                {
                    sids[found++] = m.Device.StreamId;
                }
            }
        }

        try
        {
            for (int i = 0; i < found; i++)
            {
                if (count == commands.Length)
                {
                    var flushed = Invalidate(commands, "unmap");
                    rc = rc == Errno.Success ? flushed : rc;
                    count = 0;
                }

                commands[count++] = SmmuCommandBuilder.AtcInv(sids[i], 0, ssv: false, global: false, address: 0, size: 52);
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(sids);
        }

        return count;
    }

    private void OnQueueFaulted(CommandQueue queue, Exception fault)
    {
        Metrics.RecordFault(queue.Name);
        Log.QueueFaulted(_logger, queue.Name, fault);
    }

    private Master GetMaster(EndpointDevice device)
    {
        lock (_mastersLock)
        {
            return _masters.TryGetValue(device.StreamId, out var m) && m.Device == device
                ? m
                : throw new ArgumentException($"{device} is not behind {this}", nameof(device));
        }
    }

    /// <summary>V = 1, Config = abort: DMA is terminated without an event.</summary>
    internal static StreamTableEntry AbortSte => new(1, 0, 0, 0);

    /// <summary>Writes STE words into the stream table and syncs each step with CFGI_STE + CMD_SYNC.</summary>
    private struct SteSink(SmmuV3Host host, uint sid) : ISteSink
    {
        public Errno Result { get; private set; }

        public readonly void WriteQword(int index, ulong value) => Volatile.Write(ref host.StreamTableWords(sid)[index], value);

        public void Sync()
        {
            Span<SmmuCommand> cfgi = [SmmuCommandBuilder.CfgiSte(sid, leaf: true)];
            var rc = host.Invalidate(cfgi, "CFGI_STE");
            Result = Result == Errno.Success ? rc : Result;
        }
    }

    /// <summary>Per-device driver state (the kernel's <c>arm_smmu_master</c>).</summary>
    private sealed class Master(EndpointDevice device)
    {
        public EndpointDevice Device { get; } = device;

        public IIommuDomain? Domain { get; set; }

        /// <summary>The vIOMMU whose guest owns the device's stage 1, for event relay.</summary>
        public SmmuV3Viommu? Vmaster { get; set; }

        public ulong VirtualSid { get; set; }
    }
}
