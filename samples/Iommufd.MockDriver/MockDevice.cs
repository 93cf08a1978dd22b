using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
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
    // Guards _cache, _domain, _viommu, _virtId and the PASID table: the kernel's per-device rwsem plus the cache, which a vIOMMU
    // invalidation and a test hook may touch at the same time as an attach.
    private readonly Lock _lock = new();
    private readonly uint[] _cache = new uint[SelftestConstants.MockDevCacheNum];
    private IIommuDomain? _domain;
    private MockViommu? _viommu;
    private ulong _virtId;
    private readonly Dictionary<uint, IIommuDomain> _pasids = []; // the PASID table; guarded by _lock too
    private bool _reservedPasidAttached; // selftest.c pasid_1024_attached; guarded by _lock

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

    /// <summary>The domain attached to PASID <paramref name="pasid"/>, or null when it is blocked.</summary>
    public IIommuDomain? GetPasidDomain(uint pasid)
    {
        lock (_lock)
        {
            return _pasids.GetValueOrDefault(pasid);
        }
    }

    /// <summary>
    /// selftest.c mock_domain_set_dev_pasid_nop(): records <paramref name="domain"/> on the PASID (null blocks it).
    /// IOMMU_TEST_PASID_RESERVED fails a change from one domain to another with ENOMEM and forgets that it was
    /// attached, as the kernel's mock does, so that the next change succeeds.
    /// </summary>
    public Errno SetPasid(uint pasid, IIommuDomain? domain)
    {
        lock (_lock)
        {
            if (domain is null)
            {
                _pasids.Remove(pasid);
                _reservedPasidAttached = pasid == SelftestConstants.PasidReserved ? false : _reservedPasidAttached;
                return Errno.Success;
            }

            if (pasid == SelftestConstants.PasidReserved)
            {
                if (_reservedPasidAttached)
                {
                    _reservedPasidAttached = false;
                    return Refusal.Because(Errno.ENOMEM, $"PASID {pasid} (IOMMU_TEST_PASID_RESERVED) fails its replace, as the kernel's mock does");
                }

                _reservedPasidAttached = true;
            }

            _pasids[pasid] = domain;
            return Errno.Success;
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
