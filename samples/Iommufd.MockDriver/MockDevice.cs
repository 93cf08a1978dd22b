using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// The mock driver's state for one endpoint device (the kernel's <c>struct mock_dev</c> in selftest.c): four cache
/// slots that vIOMMU invalidations clear, the domain the device is attached to, and the vIOMMU and virtual ID recorded
/// when it attached to a vIOMMU's nested domain.
/// </summary>
internal sealed class MockDevice
{
    // Guards _cache, _domain, _viommu and _virtId: the kernel's per-device rwsem plus the cache, which a vIOMMU
    // invalidation and a test hook may touch at the same time as an attach.
    private readonly Lock _lock = new();
    private readonly uint[] _cache = new uint[SelftestConstants.MockDevCacheNum];
    private IIommuDomain? _domain;
    private MockViommu? _viommu;
    private ulong _virtId;

    public MockDevice(EndpointDevice device)
    {
        Device = device;
        Array.Fill(_cache, SelftestConstants.DevCacheDefault);
    }

    /// <summary>MOCK_FLAGS_DEVICE_NO_DIRTY (iommufd_test.h): the device cannot be under dirty tracking.</summary>
    public const uint NoDirty = 1 << 0;

    /// <summary>MOCK_FLAGS_DEVICE_HUGE_IOVA: the device's paging domains map MOCK_HUGE_PAGE_SIZE pages too.</summary>
    public const uint HugeIova = 1 << 1;

    /// <summary>MOCK_FLAGS_DEVICE_PASID: the device is PASID capable.</summary>
    public const uint Pasid = 1 << 2;

    public EndpointDevice Device { get; }

    /// <summary>The MOCK_FLAGS_DEVICE_* a MOCK_DOMAIN_FLAGS device was made with (0 for platform devices).</summary>
    public uint Flags { get; set; }

    /// <summary>The attached domain, or null when the device is blocked.</summary>
    public IIommuDomain? Domain
    {
        get
        {
            lock (_lock)
            {
                return _domain;
            }
        }
    }

    /// <summary>
    /// The page table DMA goes through: the paging domain itself, or the parent of a nested domain (the mock has no
    /// stage 1). Null when the device is blocked.
    /// </summary>
    public MockPagingDomain? TranslationTable
    {
        get
        {
            lock (_lock)
            {
                return _domain switch
                {
                    MockPagingDomain paging => paging,
                    MockNestedDomain nested => nested.Parent,
                    _ => null,
                };
            }
        }
    }

    /// <summary>Records a new attachment; <paramref name="domain"/> null is the blocking state.</summary>
    public void SetAttachment(IIommuDomain? domain, MockViommu? viommu, ulong virtId)
    {
        lock (_lock)
        {
            _domain = domain;
            _viommu = viommu;
            _virtId = virtId;
        }
    }

    /// <summary>The vIOMMU the device is attached through and its virtual ID there, if any.</summary>
    public bool TryGetViommu(out MockViommu viommu, out ulong virtId)
    {
        lock (_lock)
        {
            viommu = _viommu!;
            virtId = _virtId;
            return _viommu is not null;
        }
    }

    public uint GetCache(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, _cache.Length);
        lock (_lock)
        {
            return _cache[slot];
        }
    }

    /// <summary>Clears one cache slot, or all of them; <paramref name="cacheId"/> was range-checked by the caller.</summary>
    public void InvalidateCache(uint cacheId, bool all)
    {
        lock (_lock)
        {
            if (all)
            {
                Array.Clear(_cache);
            }
            else
            {
                _cache[cacheId] = 0;
            }
        }
    }
}
