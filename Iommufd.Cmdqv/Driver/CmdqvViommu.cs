using System.Buffers.Binary;
using System.Numerics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.Cmdqv.Driver;

/// <summary>
/// A TEGRA241_CMDQV vIOMMU: the SMMUv3 vIOMMU (nested domains, trap-path invalidation) plus a guest-owned VINTF
/// with the VM's VMID, its SID pairs (one per vDEVICE), its LVCMDQs (HW queues) and its mmappable page 0.
/// </summary>
internal sealed class CmdqvViommu : IViommu, IUserCacheInvalidation, IViommuNestedDomains, IViommuVdevices, IViommuHwQueues
{
    private readonly CmdqvImplementation _impl;
    private readonly Lock _lock = new(); // guards _queues and _pairsInUse
    private readonly CmdqvHwQueue?[] _queues;
    private readonly bool[] _pairsInUse;
    private ulong _mmapOffset;
    private bool _mmapRegistered;

    public CmdqvViommu(CmdqvImplementation impl, SmmuV3Viommu core, int vintf)
    {
        _impl = impl;
        Core = core;
        VintfIndex = vintf;
        _queues = new CmdqvHwQueue?[impl.Options.Features.LvcmdqsPerVintf];
        _pairsInUse = new bool[impl.Options.Features.SidPairs];
    }

    public SmmuV3Viommu Core { get; }

    public int VintfIndex { get; }

    private Tegra241Cmdqv Cmdqv => _impl.Cmdqv;

    private uint VintfRegister(uint register) => CmdqvRegister.VintfBase + ((uint)VintfIndex * CmdqvRegister.VintfStride) + register;

    /// <summary>Enables the VINTF for the VM (HYP_OWN clear, the VM's VMID) and registers its page 0 for mmap.</summary>
    public Errno Start(out ulong mmapOffset, out ulong mmapLength)
    {
        Cmdqv.WriteRegister(VintfRegister(CmdqvRegister.VINTF_CONFIG), CmdqvRegister.VINTF_CONFIG_EN | ((uint)Core.Vmid << CmdqvRegister.VINTF_CONFIG_VMID_SHIFT));
        var rc = Core.Context.AllocMmap(new VintfWindow(Cmdqv, VintfIndex), out _mmapOffset);
        _mmapRegistered = rc == Errno.Success;
        mmapOffset = _mmapOffset;
        mmapLength = CmdqvRegister.PageSize;
        return rc;
    }

    /// <summary>Invalidations through the ioctl use the SMMUv3 trap path on the main queue.</summary>
    public Errno CacheInvalidate(ref InvalidationArray array) => Core.CacheInvalidate(ref array);

    public Errno AllocNestedDomain(IommuHwptAllocFlags flags, UserData data, out INestedDomain domain) =>
        Core.AllocNestedDomain(flags, data, out domain);

    /// <summary>
    /// A SID pair for the vDEVICE: SID_REPLACE = pSID, SID_MATCH = vSID &lt;&lt; 1 | enable. As tegra241-cmdqv.c
    /// tegra241_vintf_init_vsid(), every 32-bit vSID is accepted and the 32-bit register keeps vSID[30:0]: a vSID
    /// with bit 31 set is matched by the VCMDQ as the vSID without it (the trap path looks up the whole vSID).
    /// </summary>
    public Errno InitVdevice(IVdeviceContext vdevice)
    {
        ArgumentNullException.ThrowIfNull(vdevice);
        if (vdevice.VirtId > uint.MaxValue)
        {
            return Refusal.Because(Errno.EINVAL, $"virt_id 0x{vdevice.VirtId:x} does not fit the VINTF's 32-bit vSID");
        }

        int pair;
        lock (_lock)
        {
            pair = Array.IndexOf(_pairsInUse, false);
            if (pair < 0)
            {
                return Refusal.Because(Errno.ENOSPC, $"all {_pairsInUse.Length} SID_MATCH/SID_REPLACE pairs of VINTF {VintfIndex} are in use");
            }

            _pairsInUse[pair] = true;
        }

        Cmdqv.WriteRegister(VintfRegister(CmdqvRegister.VINTF_SID_REPLACE + ((uint)pair * 4)), vdevice.Device.StreamId);
        Cmdqv.WriteRegister(VintfRegister(CmdqvRegister.VINTF_SID_MATCH + ((uint)pair * 4)), ((uint)vdevice.VirtId << 1) | 1);
        vdevice.DriverState = pair;
        return Errno.Success;
    }

    public void DestroyVdevice(IVdeviceContext vdevice)
    {
        ArgumentNullException.ThrowIfNull(vdevice);
        if (vdevice.DriverState is int pair)
        {
            ClearPair(pair);
        }
    }

    public bool SupportsHwQueue(IommuHwQueueType type) => type == IommuHwQueueType.Tegra241Cmdqv;

    /// <summary>HW_QUEUE_ALLOC of an LVCMDQ with the checks of tegra241-cmdqv.c tegra241_vintf_alloc_lvcmdq_user(), in
    /// order.</summary>
    public Errno InitHwQueue(IHwQueueContext queue, out IHwQueue hwQueue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        hwQueue = null!;
        if (queue.Type != IommuHwQueueType.Tegra241Cmdqv)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"type {queue.Type} is not a TEGRA241_CMDQV queue");
        }

        if (queue.Index >= _queues.Length)
        {
            return Refusal.Because(Errno.EINVAL, $"index {queue.Index} is beyond the VINTF's {_queues.Length} LVCMDQs");
        }

        if (Core.Host.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        int index = (int)queue.Index;
        int global;
        ulong queueBase;
        lock (_lock)
        {
            if (_queues[index] is not null)
            {
                return Refusal.Because(Errno.EEXIST, $"LVCMDQ {index} of VINTF {VintfIndex} is allocated already");
            }

            if (index > 0 && _queues[index - 1] is null)
            {
                return Refusal.Because(Errno.EIO, $"LVCMDQ {index - 1} is not allocated: LVCMDQs are allocated in ascending order");
            }

            ulong length = queue.Length;
            ulong maxLength = 1UL << (_impl.Host.Probed.CmdqLog2Size + 4);
            if (!BitOperations.IsPow2(length) || length < 32 || length > maxLength)
            {
                return Refusal.Because(Errno.EINVAL, $"length 0x{length:x} is not a power of two in [32, 0x{maxLength:x}] bytes");
            }

            ulong basePa = queue.BasePhysicalAddress;
            if ((basePa & ~CmdqvRegister.VCMDQ_BASE_ADDR_MASK) != 0 || (basePa & (length - 1)) != 0)
            {
                return Refusal.Because(Errno.EINVAL, $"base 0x{basePa:x} is outside VCMDQ_BASE's address field or not aligned to the length 0x{length:x}");
            }

            if (index > 0)
            {
                queue.DependOn(_queues[index - 1]!.Context);
            }

            global = _impl.GlobalQueue(VintfIndex, index);
            queueBase = (basePa & CmdqvRegister.VCMDQ_BASE_ADDR_MASK) | (uint)(BitOperations.Log2(length) - 4);
            var created = new CmdqvHwQueue(this, queue, index, global);
            _queues[index] = created;
            hwQueue = created;
        }

        // The slot is taken: the rest touches only this queue's registers and waits on the main queue, so it runs
        // outside the lock (nobody can destroy the queue before it is returned). Map, then reset as
        // tegra241_vcmdq_hw_init_user() does first (commit 80f1a2c2, the main-queue flush included), then BASE;
        // the guest enables the queue.
        _impl.MapQueue(global, mapped: true);
        ResetQueue(global);
        Cmdqv.WriteRegister(CmdqvImplementation.QueueRegister(global, CmdqvRegister.VCMDQ_BASE, page1: true), queueBase, 8);
        return Errno.Success;
    }

    /// <summary>Tears an LVCMDQ down (tegra241-cmdqv.c tegra241_vintf_destroy_lvcmdq_user()): reset, unmap.</summary>
    internal void DestroyQueue(CmdqvHwQueue queue)
    {
        int global = queue.GlobalQueue;
        ResetQueue(global);
        _impl.MapQueue(global, mapped: false);
        _impl.Software?.Forget(Cmdqv.Queues[global].Queue);
        lock (_lock)
        {
            _queues[queue.Index] = null;
        }
    }

    /// <summary>Reports the VINTF's LVCMDQ_ERR_MAP to the vEVENTQ; without one the error is counted and logged.</summary>
    public void RelayError()
    {
        var map = Cmdqv.Vintfs[VintfIndex].ErrorMap;
        if (map == 0)
        {
            return;
        }

        Span<byte> payload = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128LittleEndian(payload, map);
        if (Core.Context.ReportEvent(IommuVeventqType.Tegra241Cmdqv, payload) != Errno.Success)
        {
            _impl.ReportNotRelayed(VintfIndex, map);
        }
    }

    public void Destroy()
    {
        if (_mmapRegistered)
        {
            Core.Context.FreeMmap(_mmapOffset);
            _mmapRegistered = false;
        }

        for (int i = _queues.Length - 1; i >= 0; i--)
        {
            CmdqvHwQueue? q;
            lock (_lock)
            {
                q = _queues[i];
            }

            if (q is not null)
            {
                DestroyQueue(q);
            }
        }

        for (int pair = 0; pair < _pairsInUse.Length; pair++)
        {
            ClearPair(pair);
        }

        Cmdqv.WriteRegister(VintfRegister(CmdqvRegister.VINTF_CONFIG), 0);
        Core.Destroy();
        _impl.Release(VintfIndex);
    }

    private void ClearPair(int pair)
    {
        Cmdqv.WriteRegister(VintfRegister(CmdqvRegister.VINTF_SID_MATCH + ((uint)pair * 4)), 0);
        Cmdqv.WriteRegister(VintfRegister(CmdqvRegister.VINTF_SID_REPLACE + ((uint)pair * 4)), 0);
        lock (_lock)
        {
            _pairsInUse[pair] = false;
        }
    }

    /// <summary>tegra241-cmdqv.c tegra241_vcmdq_hw_deinit(): disable, flush the main queue, zero the indexes and
    /// bases, acknowledge a left error.</summary>
    private void ResetQueue(int global)
    {
        WriteQueue(global, CmdqvRegister.VCMDQ_CONFIG, 0);

        // A CMD_SYNC on the main queue (tegra241_vcmdq_hw_flush_timeout()), so an ATC invalidation left without its
        // sync cannot time out in the next VM. The models track an ATC invalidation that timed out on the queue that
        // sent it rather than SMMU-wide, so the flush also has to drop it from this VCMDQ, or the next owner's first
        // CMD_SYNC would report it.
        _impl.Host.MainQueue.Issue([], out _);
        Cmdqv.Queues[global].Queue.AtcInvalidationTimedOut = false;
        WriteQueue(global, CmdqvRegister.VCMDQ_PROD, 0);
        WriteQueue(global, CmdqvRegister.VCMDQ_CONS, 0);
        Cmdqv.WriteRegister(CmdqvImplementation.QueueRegister(global, CmdqvRegister.VCMDQ_BASE, page1: true), 0, 8);
        Cmdqv.WriteRegister(CmdqvImplementation.QueueRegister(global, CmdqvRegister.VCMDQ_CONS_INDX_BASE, page1: true), 0, 8);
        AcknowledgeQueueError(global);
    }

    private void WriteQueue(int global, uint register, uint value) =>
        Cmdqv.WriteRegister(CmdqvImplementation.QueueRegister(global, register, page1: false), value);

    private void AcknowledgeQueueError(int global)
    {
        var vcmdq = Cmdqv.Queues[global];
        if (vcmdq.ErrorActive)
        {
            WriteQueue(global, CmdqvRegister.VCMDQ_GERRORN, vcmdq.Gerror);
        }
    }
}
