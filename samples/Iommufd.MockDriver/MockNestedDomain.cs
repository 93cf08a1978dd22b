using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// A mock nested domain (selftest.c struct mock_iommu_domain_nested): no stage-1 table, just four IOTLB slots that user
/// invalidations clear, on top of a nest-parent paging domain that does the actual translation. It comes from a
/// nest-parent HWPT (the older path) or from a <see cref="MockViommu"/>.
/// </summary>
internal sealed class MockNestedDomain : INestedDomain, IUserCacheInvalidation
{
    /// <summary>offsetofend(struct iommu_hwpt_selftest, iotlb): the shortest allocation blob accepted.</summary>
    private const int MinDataLength = sizeof(uint);

    /// <summary>offsetofend(struct iommu_hwpt_invalidate_selftest, iotlb_id): the shortest entry accepted.</summary>
    private const int MinEntryLength = 2 * sizeof(uint);

    private readonly MockIommu _iommu;

    // Guards _iotlb and _freed: invalidations may run on several threads while a test reads the slots.
    private readonly Lock _lock = new();
    private readonly uint[] _iotlb = new uint[SelftestConstants.MockNestedDomainIotlbNum];
    private bool _freed;

    private MockNestedDomain(MockIommu iommu, MockPagingDomain parent, MockViommu? viommu, uint iotlb)
    {
        _iommu = iommu;
        Parent = parent;
        MockViommu = viommu;
        Array.Fill(_iotlb, iotlb);
        iommu.DomainAllocated();
    }

    public IIommuInstance Iommu => _iommu;

    public IViommu? Viommu => MockViommu;

    /// <summary>The vIOMMU the domain came from, or null for the older parent-only path.</summary>
    public MockViommu? MockViommu { get; }

    /// <summary>The stage-2 domain DMA is translated through.</summary>
    public MockPagingDomain Parent { get; }

    /// <summary>
    /// Builds a nested domain from the caller's <see cref="IommuHwptSelftest"/>: a data type other than SELFTEST is
    /// EOPNOTSUPP (the mock checks it itself before copying); the copy follows include/linux/iommu.h
    /// iommu_copy_struct_from_user() (a short or oversized blob is EINVAL, a bad pointer EFAULT).
    /// </summary>
    public static Errno Create(MockIommu iommu, MockPagingDomain parent, MockViommu? viommu, UserData data, out MockNestedDomain domain)
    {
        domain = null!;
        if (data.Type != (uint)IommuHwptDataType.Selftest)
        {
            return Errno.EOPNOTSUPP;
        }

        var rc = data.CopyFrom((uint)IommuHwptDataType.Selftest, MinDataLength, out IommuHwptSelftest config);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (iommu.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        domain = new MockNestedDomain(iommu, parent, viommu, config.Iotlb);
        return Errno.Success;
    }

    public uint GetIotlb(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, _iotlb.Length);
        lock (_lock)
        {
            return _iotlb[slot];
        }
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE on the nested HWPT, entry by entry as selftest.c mock_domain_cache_invalidate_user() does:
    /// a wrong data type is EINVAL before any entry is read; then each entry is copied on its own (iommu.h
    /// iommu_copy_struct_from_user_array()), unknown flags are EOPNOTSUPP and an IOTLB index above 3 is EINVAL (checked
    /// even with FLAG_ALL, in the kernel function's order). The first failure stops the loop; <see
    /// cref="InvalidationArray.EntryNum"/> always comes back as the number of entries handled before it.
    /// </summary>
    public Errno CacheInvalidate(ref InvalidationArray array)
    {
        uint requested = array.EntryNum;
        uint handled = 0;
        var rc = Errno.Success;
        if (array.Type != (uint)IommuHwptInvalidateDataType.Selftest)
        {
            rc = Errno.EINVAL;
        }
        else
        {
            for (uint i = 0; i < requested; i++)
            {
                rc = array.CopyEntry((uint)IommuHwptInvalidateDataType.Selftest, i, MinEntryLength, out IommuHwptInvalidateSelftest entry);
                if (rc != Errno.Success)
                {
                    break;
                }

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

    public void Free()
    {
        lock (_lock)
        {
            if (_freed)
            {
                throw new InvalidOperationException("a mock nested domain was freed twice");
            }

            _freed = true;
        }

        _iommu.DomainFreed();
    }

    private Errno Apply(in IommuHwptInvalidateSelftest entry)
    {
        var flags = (IommuTestInvalidateFlags)entry.Flags;
        if ((flags & ~IommuTestInvalidateFlags.All) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (entry.IotlbId > SelftestConstants.MockNestedDomainIotlbIdMax)
        {
            return Errno.EINVAL;
        }

        lock (_lock)
        {
            if ((flags & IommuTestInvalidateFlags.All) != 0)
            {
                Array.Clear(_iotlb);
            }
            else
            {
                _iotlb[entry.IotlbId] = 0;
            }
        }

        return Errno.Success;
    }
}
