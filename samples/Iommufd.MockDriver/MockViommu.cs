using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance.Buffers;
using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// A mock vIOMMU (drivers/iommu/iommufd/selftest.c struct mock_viommu). It invalidates device caches by virtual device
/// ID — the same shape as an SMMUv3 vIOMMU translating vSIDs — allocates nested domains, owns up to two HW queues that
/// must be allocated in order, and, when the caller passes driver data, exposes two pages for mmap.
/// </summary>
internal sealed class MockViommu : IViommu, IUserCacheInvalidation, IViommuNestedDomains, IViommuHwQueues
{
    /// <summary>offsetofend(struct iommu_viommu_selftest, out_data): the shortest allocation blob accepted.</summary>
    private const int MinDataLength = 2 * sizeof(uint);

    /// <summary>
    /// The largest entry array the kernel's kcalloc can provide in one piece (KMALLOC_MAX_SIZE, 4 MiB on a kernel
    /// with 4 KiB pages). A larger <c>entry_num</c> is ENOMEM, as selftest.c mock_viommu_cache_invalidate() answers for
    /// the mock vIOMMU's allocation failure, rather than a huge pooled buffer.
    /// </summary>
    private const ulong MaxBatchBytes = 4 << 20;

    private readonly MockIommu _iommu;

    // Guards _queues: the kernel's mock_viommu queue_mutex. Allocation checks the slots and fills one as one step.
    private readonly Lock _queueLock = new();
    private readonly MockHwQueue?[] _queues = new MockHwQueue?[SelftestConstants.HwQueueMax];

    private readonly MockMmapRegion? _mmap;
    private readonly ulong _mmapOffset;
    private int _destroyed;

    private MockViommu(MockIommu iommu, IViommuContext context, MockPagingDomain parent, MockMmapRegion? mmap, ulong mmapOffset)
    {
        _iommu = iommu;
        Context = context;
        Parent = parent;
        _mmap = mmap;
        _mmapOffset = mmapOffset;
        iommu.ViommuCreated();
    }

    /// <summary>What the core offers the driver: the vDEVICE table, mmap registration, event reporting.</summary>
    public IViommuContext Context { get; }

    /// <summary>The nest-parent (stage-2) domain.</summary>
    public MockPagingDomain Parent { get; }

    /// <summary>
    /// viommu_init (selftest.c mock_viommu_init()). Without driver data the vIOMMU is ready at once. With data: the
    /// caller's <see cref="IommuViommuSelftest"/> is copied (iommu.h iommu_copy_struct_from_user(), minimum up to
    /// <c>out_data</c>), two zeroed pages are registered for mmap with <c>in_data</c> written at offset 0, and
    /// <c>out_data</c> (= in_data), <c>out_mmap_offset</c> and <c>out_mmap_length</c> go back to the caller. Everything
    /// is undone on failure.
    /// </summary>
    public static Errno Create(MockIommu iommu, IViommuContext context, MockPagingDomain parent, UserData data, out MockViommu viommu)
    {
        viommu = null!;
        if (iommu.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        if (data.IsEmpty)
        {
            viommu = new MockViommu(iommu, context, parent, mmap: null, mmapOffset: 0);
            return Errno.Success;
        }

        var rc = data.CopyFrom((uint)IommuViommuType.Selftest, MinDataLength, out IommuViommuSelftest config);
        if (rc != Errno.Success)
        {
            return rc;
        }

        var region = new MockMmapRegion(iommu.Memory);
        rc = context.AllocMmap(region, out ulong offset);
        if (rc != Errno.Success)
        {
            region.Free();
            return rc;
        }

        region.Write(0, sizeof(uint), config.InData);
        config.OutData = config.InData;
        config.OutMmapOffset = offset;
        config.OutMmapLength = region.Length;
        rc = data.CopyTo(in config);
        if (rc != Errno.Success)
        {
            context.FreeMmap(offset);
            region.Free();
            return rc;
        }

        viommu = new MockViommu(iommu, context, parent, region, offset);
        return Errno.Success;
    }

    /// <summary>
    /// Removes the mmap registration and frees its pages. The core calls this only when nothing maps the pages any
    /// more (a live mapping keeps the vIOMMU busy) and every HW queue and nested domain is gone.
    /// </summary>
    public void Destroy()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) != 0)
        {
            throw new InvalidOperationException("a mock vIOMMU was destroyed twice");
        }

        if (_mmap is not null)
        {
            Context.FreeMmap(_mmapOffset);
            _mmap.Free();
        }

        _iommu.ViommuDestroyed();
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE on the vIOMMU (selftest.c mock_viommu_cache_invalidate()). <c>entry_num</c> 0 only probes
    /// the data type (success, or EINVAL for a wrong type). Otherwise the whole array is copied once into a pooled
    /// buffer with the full-array rule of iommu.h iommu_copy_struct_from_full_user_array() (a wrong type is EINVAL,
    /// short entries are zero-filled, an oversized entry needs a zero tail), then each entry is checked and applied in
    /// order: unknown flags are EOPNOTSUPP, a cache index above 3 is EINVAL (also with FLAG_ALL), an unknown
    /// <c>vdev_id</c> is EINVAL. <see cref="InvalidationArray.EntryNum"/> comes back as the number of entries applied
    /// before the first failure (0 when the copy itself failed).
    /// </summary>
    public Errno CacheInvalidate(ref InvalidationArray array)
    {
        uint requested = array.EntryNum;
        if (requested == 0)
        {
            return array.Type == (uint)IommuHwptInvalidateDataType.Selftest ? Errno.Success : Errno.EINVAL;
        }

        if ((ulong)requested * (ulong)Unsafe.SizeOf<IommuViommuInvalidateSelftest>() > MaxBatchBytes)
        {
            array.EntryNum = 0;
            return Errno.ENOMEM;
        }

        // The one copy of the caller's entries, into a pooled kernel buffer (steady state: no allocation).
        using var buffer = SpanOwner<IommuViommuInvalidateSelftest>.Allocate((int)requested);
        {
            var entries = buffer.Span;
            uint handled = 0;
            var rc = array.CopyAll((uint)IommuHwptInvalidateDataType.Selftest, entries);
            if (rc == Errno.Success)
            {
                foreach (ref readonly var entry in entries)
                {
                    rc = Apply(entry);
                    if (rc != Errno.Success)
                    {
                        break;
                    }

                    handled++;
                }
            }

            array.EntryNum = handled;
            return rc;
        }
    }

    /// <summary>
    /// alloc_domain_nested (selftest.c mock_viommu_alloc_domain_nested()): flags other than ALLOC_PASID are EOPNOTSUPP
    /// (the core has removed FAULT_ID_VALID); the data is the same <see cref="IommuHwptSelftest"/> as on the parent
    /// path.
    /// </summary>
    public Errno AllocNestedDomain(IommuHwptAllocFlags flags, UserData data, out INestedDomain domain)
    {
        domain = null!;
        if ((flags & ~IommuHwptAllocFlags.AllocPasid) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        var rc = MockNestedDomain.Create(_iommu, Parent, this, data, out var nested);
        domain = nested;
        return rc;
    }

    /// <summary>get_hw_queue_size: only the SELFTEST queue type (selftest.c mock_viommu_get_hw_queue_size()).</summary>
    public bool SupportsHwQueue(IommuHwQueueType type) => type == IommuHwQueueType.Selftest;

    /// <summary>
    /// hw_queue_init_phys (selftest.c mock_hw_queue_init_phys()), checks in order: an index of 2 or more is EINVAL, a
    /// taken index EEXIST, an index whose predecessor is missing EIO (not EINVAL, as upstream), and a base address that
    /// is not the stage-2 translation of the queue's IOVA EFAULT — that last check tests the core's IOVA → PA
    /// conversion. A queue after the first depends on its predecessor, so the core refuses to destroy them out of
    /// order.
    /// </summary>
    public Errno InitHwQueue(IHwQueueContext queue, out IHwQueue hwQueue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        hwQueue = null!;
        uint index = queue.Index;
        if (index >= SelftestConstants.HwQueueMax)
        {
            return Errno.EINVAL;
        }

        lock (_queueLock)
        {
            if (_queues[index] is not null)
            {
                return Errno.EEXIST;
            }

            var previous = index > 0 ? _queues[index - 1] : null;
            if (index > 0 && previous is null)
            {
                return Errno.EIO;
            }

            if (!Context.Parent.TryTranslate(queue.NestingParentIova, out ulong pa, out _) || pa != queue.BasePhysicalAddress)
            {
                return Errno.EFAULT;
            }

            if (previous is not null)
            {
                queue.DependOn(previous.Context);
            }

            if (_iommu.AllocationFails())
            {
                return Errno.ENOMEM;
            }

            var mock = new MockHwQueue(this, queue);
            _queues[index] = mock;
            hwQueue = mock;
            return Errno.Success;
        }
    }

    /// <summary>Frees a HW queue's slot (its destroy op).</summary>
    internal void RemoveHwQueue(MockHwQueue queue)
    {
        lock (_queueLock)
        {
            if (_queues[queue.Index] == queue)
            {
                _queues[queue.Index] = null;
            }
        }
    }

    private Errno Apply(in IommuViommuInvalidateSelftest entry)
    {
        var flags = (IommuTestInvalidateFlags)entry.Flags;
        if ((flags & ~IommuTestInvalidateFlags.All) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (entry.CacheId > SelftestConstants.MockDevCacheIdMax)
        {
            return Errno.EINVAL;
        }

        // The vDEVICE table is the core's (the kernel's viommu->vdevs); the device it names is a platform device,
        // which outlives any vDEVICE, so the cache can be cleared after the table lookup returns.
        if (!Context.TryFindDevice(entry.VdevId, out var device))
        {
            return Errno.EINVAL;
        }

        _iommu.GetDevice(device).InvalidateCache(entry.CacheId, all: (flags & IommuTestInvalidateFlags.All) != 0);
        return Errno.Success;
    }
}
