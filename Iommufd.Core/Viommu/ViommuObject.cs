using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Viommu;

/// <summary>
/// A vIOMMU: the per-VM slice of a physical IOMMU (the kernel's <c>struct iommufd_viommu</c>). It holds the
/// vDEVICE table (virtual ID → device) that drivers translate guest IDs through, the vEVENTQs (one per type),
/// and the HW queues; the driver state sits behind <see cref="Driver"/>.
/// </summary>
internal sealed class ViommuObject : IommufdObject, IViommuContext
{
    private readonly Lock _vdevLock = new(); // guards _vdevs (the kernel's xa_lock on viommu->vdevs)
    private readonly Dictionary<ulong, VdeviceObject> _vdevs = [];
    private readonly Lock _eventLock = new(); // guards _eventQueues
    private readonly Dictionary<IommuVeventqType, VeventqObject> _eventQueues = [];
    private readonly Lock _queueLock = new(); // guards _hwQueues; held across a HW queue's allocation
    private readonly Dictionary<(IommuHwQueueType, uint), HwQueueObject> _hwQueues = [];
    private readonly MmapRegistry _mmaps;
    private readonly Lock _mmapLock = new(); // guards _mmapOffsets
    private readonly List<ulong> _mmapOffsets = [];
    private IViommu _driver = null!;

    public ViommuObject(HwptPagingObject parent, IIommuInstance iommu, IommuViommuType viommuType, MmapRegistry mmaps)
    {
        ParentHwpt = parent;
        Iommu = iommu;
        ViommuType = viommuType;
        _mmaps = mmaps;
    }

    public override IommufdObjectType Type => IommufdObjectType.Viommu;

    /// <summary>IOMMU_HWPT_INVALIDATE looks it up by mark (<see cref="ObjectTable.GetMarked{T}"/>).</summary>
    internal override bool TakesMarkedLookups => true;

    public HwptPagingObject ParentHwpt { get; }

    public IIommuInstance Iommu { get; }

    public IommuViommuType ViommuType { get; }

    /// <summary>The driver's vIOMMU; set once <c>viommu_init</c> succeeded.</summary>
    public IViommu Driver
    {
        get => _driver;
        set
        {
            _driver = value;
            UserCacheInvalidation = value as IUserCacheInvalidation;
        }
    }

    /// <summary>
    /// The driver's <c>viommu_ops->cache_invalidate</c>, or null: cast once when the driver is set rather than on every
    /// IOMMU_HWPT_INVALIDATE (an interface cast is a walk of the type's interface map).
    /// </summary>
    public IUserCacheInvalidation? UserCacheInvalidation { get; private set; }

    public IPagingDomain Parent => ParentHwpt.PagingDomain;

    /// <summary>Events dropped because no vEVENTQ of their type existed.</summary>
    public long DroppedEvents => Interlocked.Read(ref _droppedEvents);

    private long _droppedEvents;

    public bool TryFindDevice(ulong virtId, out EndpointDevice device)
    {
        lock (_vdevLock)
        {
            if (_vdevs.TryGetValue(virtId, out var vdev))
            {
                device = vdev.Device;
                return true;
            }
        }

        device = null!;
        return false;
    }

    public bool TryGetVirtId(EndpointDevice device, out ulong virtId)
    {
        lock (_vdevLock)
        {
            foreach (var vdev in _vdevs.Values)
            {
                if (vdev.Device == device)
                {
                    virtId = vdev.VirtId;
                    return true;
                }
            }
        }

        virtId = 0;
        return false;
    }

    /// <summary>Adds a vDEVICE under its virtual ID; EEXIST when the ID is taken.</summary>
    public Errno AddVdevice(VdeviceObject vdev)
    {
        lock (_vdevLock)
        {
            return _vdevs.TryAdd(vdev.VirtId, vdev) ? Errno.Success : Errno.EEXIST;
        }
    }

    public void RemoveVdevice(VdeviceObject vdev)
    {
        lock (_vdevLock)
        {
            _vdevs.Remove(vdev.VirtId);
        }
    }

    public Errno AllocMmap(IMmioRegion region, out ulong offset)
    {
        ArgumentNullException.ThrowIfNull(region);
        var rc = _mmaps.Register(this, region, out offset);
        if (rc == Errno.Success)
        {
            lock (_mmapLock)
            {
                _mmapOffsets.Add(offset);
            }
        }

        return rc;
    }

    public void FreeMmap(ulong offset)
    {
        lock (_mmapLock)
        {
            _mmapOffsets.Remove(offset);
        }

        _mmaps.Unregister(offset);
    }

    public Errno ReportEvent(IommuVeventqType type, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return Errno.EINVAL;
        }

        VeventqObject? queue;
        lock (_eventLock)
        {
            _eventQueues.TryGetValue(type, out queue);
        }

        if (queue is null)
        {
            Interlocked.Increment(ref _droppedEvents);
            return Errno.EOPNOTSUPP;
        }

        queue.Report(payload);
        return Errno.Success;
    }

    /// <summary>Registers a vEVENTQ; one per type (EEXIST otherwise).</summary>
    public Errno AddEventQueue(VeventqObject queue)
    {
        lock (_eventLock)
        {
            return _eventQueues.TryAdd(queue.EventType, queue) ? Errno.Success : Errno.EEXIST;
        }
    }

    public void RemoveEventQueue(VeventqObject queue)
    {
        lock (_eventLock)
        {
            if (_eventQueues.TryGetValue(queue.EventType, out var q) && q == queue)
            {
                _eventQueues.Remove(queue.EventType);
            }
        }
    }

    /// <summary>The lock HW queue allocation and destruction run under (the order rules need a stable view).</summary>
    public Lock HwQueueLock => _queueLock;

    /// <summary>The vIOMMU's HW queues by type and index; read and changed only under <see cref="HwQueueLock"/>.</summary>
    public Dictionary<(IommuHwQueueType, uint), HwQueueObject> HwQueues => _hwQueues;

    internal override void Destroy()
    {
        Driver.Destroy();
        ulong[] leftover;
        lock (_mmapLock)
        {
            leftover = [.. _mmapOffsets];
            _mmapOffsets.Clear();
        }

        foreach (var offset in leftover)
        {
            _mmaps.Unregister(offset);
        }

        ParentHwpt.RemoveUser();
    }
}
