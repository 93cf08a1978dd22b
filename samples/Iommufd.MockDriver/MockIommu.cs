using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// One mock IOMMU: the C# counterpart of the kernel's iommufd selftest driver (drivers/iommu/iommufd/selftest.c). It
/// implements every hook the core calls with state simple enough to check from a test: software page tables,
/// four IOTLB slots per nested domain, four cache slots per device, two HW queue slots per vIOMMU.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="GetIotlb"/>, <see cref="GetDeviceCache"/> and <see cref="TriggerVevent"/> replace the kernel's
/// <c>IOMMU_TEST_CMD</c> ops (iommufd_test.h IOMMU_TEST_OP_*): instead of a test ioctl, a test asks the driver object
/// directly. <see cref="GetAttachedDomain"/>, <see cref="DomainCount"/> and <see cref="ViommuCount"/> are extra checks.
/// Get the instance from a device with <c>(MockIommu)device.Iommu</c> and a domain from a HWPT ID with
/// <c>IommufdFile.GetHwptDomain</c>.
/// </para>
/// <para>
/// PASIDs: a MOCK_FLAGS_DEVICE_PASID device takes 1 &lt;&lt; MOCK_PASID_WIDTH of them, each attached to a paging or
/// nested domain of this IOMMU (a DMA with a PASID translates through it); IOMMU_TEST_PASID_RESERVED fails its
/// replace once, as selftest.c mock_domain_set_dev_pasid_nop() does.
/// </para>
/// <para>
/// Not modelled: the generic_pt page-table format (the page table is a map of mock
/// pages, huge ones marked as such), and I/O page faults raised by DMA (the core's
/// <c>IommufdFile.ReportPageFault</c> stands in for TRIGGER_IOPF). Fault injection goes through the core's
/// <see cref="FailNth"/> at every allocation (domain, vIOMMU, HW queue) and page-table map, as the selftest driver's
/// allocations are failable under tools/testing/selftests/iommu/iommufd_fail_nth.c.
/// </para>
/// <para>
/// Thread safety: every hook may run concurrently with any other. Each piece of state says which lock guards it.
/// One hook holds two of the driver's locks: HW queue allocation checks the queue's address with the parent domain's
/// TryTranslate under the vIOMMU's queue lock, so the order is queue lock, then domain lock; nothing takes the queue
/// lock under another. Every other hook holds one at a time (a DMA reads the attachment under the device lock, lets
/// it go, then walks the page table under the domain's lock).
/// </para>
/// </remarks>
public sealed class MockIommu : IIommuInstance
{
    // Filled while the platform probes its devices, read by every hook afterwards: a concurrent dictionary lets
    // the hooks look devices up without a lock.
    private readonly ConcurrentDictionary<EndpointDevice, MockDevice> _devices = new();
    private int _domainCount;
    private int _viommuCount;

    internal MockIommu(string name, PhysicalMemory memory, FailNth? faults = null)
    {
        Name = name;
        Memory = memory;
        Faults = faults;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Domains (paging and nested) allocated and not yet freed: a leak check for tests.</summary>
    public int DomainCount => Volatile.Read(ref _domainCount);

    /// <summary>vIOMMUs initialized and not yet destroyed: a leak check for tests.</summary>
    public int ViommuCount => Volatile.Read(ref _viommuCount);

    /// <summary>The machine's physical memory, which DMA and the vIOMMU's mmap pages live in.</summary>
    internal PhysicalMemory Memory { get; }

    /// <summary>The fault-injection seam, when the machine has one.</summary>
    internal FailNth? Faults { get; }

    /// <summary>An injection point: true when this allocation must fail (ENOMEM).</summary>
    internal bool AllocationFails() => Faults?.ShouldFail() == true;

    /// <inheritdoc/>
    public void ProbeDevice(EndpointDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.Iommu != this || !_devices.TryAdd(device, new MockDevice(device)))
        {
            throw new InvalidOperationException($"{device} cannot be probed on mock IOMMU '{Name}'");
        }
    }

    /// <summary>
    /// GET_HW_INFO: the mock's native type is SELFTEST with <see cref="IommuTestHwInfo"/> (selftest.c
    /// mock_domain_hw_info()). Any other requested type is EOPNOTSUPP. The core adds IOMMU_HW_CAP_DIRTY_TRACKING from
    /// <see cref="SupportsDirtyTracking"/>.
    /// </summary>
    public Errno GetHwInfo(EndpointDevice device, IommuHwInfoType requestedType, Span<byte> data, out HwInfoResult result)
    {
        GetDevice(device);
        if (requestedType is not (IommuHwInfoType.Default or IommuHwInfoType.Selftest))
        {
            result = default;
            return Errno.EOPNOTSUPP;
        }

        var info = new IommuTestHwInfo { Flags = 0, TestReg = SelftestConstants.TestHwInfoReg };
        MemoryMarshal.Write(data, in info);
        // device.c iommufd_get_hw_info() reports max_pasids as out_max_pasid_log2.
        byte pasidLog2 = (byte)Math.Max(0, 31 - System.Numerics.BitOperations.LeadingZeroCount(MaxPasids(device)));
        result = new HwInfoResult(IommuHwInfoType.Selftest, Marshal.SizeOf<IommuTestHwInfo>(), MaxPasidLog2: pasidLog2);
        return Errno.Success;
    }

    /// <summary>selftest.c mock_domain_capable(IOMMU_CAP_DIRTY_TRACKING): every device but a NO_DIRTY one.</summary>
    public bool SupportsDirtyTracking(EndpointDevice device) =>
        (GetDevice(device).Flags & MockDevice.NoDirty) == 0;

    /// <summary>
    /// A paging domain over the mock aperture (iommufd_test.h MOCK_APERTURE_*), as selftest.c
    /// mock_domain_alloc_user() makes it: NEST_PARENT, DIRTY_TRACKING and ALLOC_PASID are accepted, any other flag is
    /// EOPNOTSUPP (the core passes the caller's flags minus FAULT_ID_VALID), and so is DIRTY_TRACKING for a
    /// MOCK_FLAGS_DEVICE_NO_DIRTY device. DIRTY_TRACKING gives the domain dirty ops; a HUGE_IOVA device's domain maps
    /// MOCK_HUGE_PAGE_SIZE pages too (mock_domain_alloc_paging()).
    /// </summary>
    public Errno AllocPagingDomain(EndpointDevice device, IommuHwptAllocFlags flags, out IPagingDomain domain)
    {
        var mdev = GetDevice(device);
        domain = null!;
        const IommuHwptAllocFlags supported = IommuHwptAllocFlags.NestParent | IommuHwptAllocFlags.DirtyTracking | IommuHwptAllocFlags.AllocPasid;
        bool dirty = (flags & IommuHwptAllocFlags.DirtyTracking) != 0;
        if ((flags & ~supported) != 0 || (dirty && (mdev.Flags & MockDevice.NoDirty) != 0))
        {
            return Errno.EOPNOTSUPP;
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        domain = new MockPagingDomain(this, (flags & IommuHwptAllocFlags.NestParent) != 0, dirty, (mdev.Flags & MockDevice.HugeIova) != 0);
        return Errno.Success;
    }

    /// <summary>
    /// The older nesting path (HWPT_ALLOC with a nest-parent HWPT as <c>pt_id</c>): a nested domain whose IOTLB
    /// slots start at the value in the caller's <see cref="IommuHwptSelftest"/> (selftest.c). The core has already
    /// checked the flags and that the parent is a nest parent of this IOMMU.
    /// </summary>
    public Errno AllocNestedDomain(EndpointDevice device, IPagingDomain parent, IommuHwptAllocFlags flags, UserData data, out INestedDomain domain)
    {
        GetDevice(device);
        domain = null!;
        if (parent is not MockPagingDomain mockParent || mockParent.Iommu != this)
        {
            return Errno.EINVAL;
        }

        var rc = MockNestedDomain.Create(this, mockParent, viommu: null, data, out var nested);
        domain = nested;
        return rc;
    }

    /// <summary>Only <see cref="IommuViommuType.Selftest"/> (the kernel's get_viommu_size returning 0 otherwise,
    /// selftest.c mock_get_viommu_size()).</summary>
    public bool SupportsViommu(EndpointDevice device, IommuViommuType type) => type == IommuViommuType.Selftest;

    /// <summary>viommu_init: see <see cref="MockViommu.Create"/>.</summary>
    public Errno InitViommu(IViommuContext context, EndpointDevice device, IommuViommuType type, IPagingDomain parent, UserData data, out IViommu viommu)
    {
        ArgumentNullException.ThrowIfNull(context);
        GetDevice(device);
        viommu = null!;
        if (type != IommuViommuType.Selftest)
        {
            return Errno.EOPNOTSUPP;
        }

        if (parent is not MockPagingDomain mockParent || mockParent.Iommu != this)
        {
            return Errno.EINVAL;
        }

        var rc = MockViommu.Create(this, context, mockParent, data, out var mock);
        viommu = mock;
        return rc;
    }

    /// <summary>
    /// Attaches a device (selftest.c mock_domain_nop_attach()). A domain with dirty ops refuses a
    /// MOCK_FLAGS_DEVICE_NO_DIRTY device (EINVAL). A nested domain from a vIOMMU needs the device's vDEVICE on that
    /// vIOMMU (ENOENT: allocate the vDEVICE first); the device then records the vIOMMU and its virtual ID, which
    /// TRIGGER_VEVENT reports. Any other attach clears them. A domain of another IOMMU is EINVAL.
    /// </summary>
    public Errno Attach(EndpointDevice device, IIommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var mdev = GetDevice(device);
        switch (domain)
        {
            case MockPagingDomain { DirtyOps: not null } when (mdev.Flags & MockDevice.NoDirty) != 0:
                return Errno.EINVAL;
            case MockPagingDomain paging when paging.Iommu == this:
                mdev.SetAttachment(paging, viommu: null, virtId: 0);
                return Errno.Success;
            case MockNestedDomain nested when nested.Iommu == this:
                ulong virtId = 0;
                if (nested.MockViommu is { } viommu && !viommu.Context.TryGetVirtId(device, out virtId))
                {
                    return Errno.ENOENT;
                }

                mdev.SetAttachment(nested, nested.MockViommu, virtId);
                return Errno.Success;
            default:
                return Errno.EINVAL;
        }
    }

    /// <summary>Moves the device to the blocking state: no translation, and no vIOMMU any more.</summary>
    public void Detach(EndpointDevice device) => GetDevice(device).SetAttachment(null, viommu: null, virtId: 0);

    /// <summary>selftest.c mock_ops: <c>user_pasid_table</c> is set.</summary>
    public bool UserPasidTable => true;

    /// <summary>Every mock domain and the blocked domain have set_dev_pasid (selftest.c mock_domain_set_dev_pasid_nop()).</summary>
    public bool SupportsPasid => true;

    /// <summary>
    /// iommu.c dev_iommu_get_max_pasids(): 1 &lt;&lt; the device's PASID width, at most the mock IOMMU's
    /// 1 &lt;&lt; MOCK_PASID_WIDTH (selftest.c mock_iommu_init()); 0 for a device without PASIDs.
    /// </summary>
    public uint MaxPasids(EndpointDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        GetDevice(device);
        return device.PasidBits == 0 ? 0 : 1u << Math.Min(device.PasidBits, (int)SelftestConstants.MockPasidWidth);
    }

    /// <summary>
    /// The mock domains' set_dev_pasid (selftest.c mock_domain_set_dev_pasid_nop()): records the domain on the PASID;
    /// a domain of another IOMMU is EINVAL, and IOMMU_TEST_PASID_RESERVED fails a replace once with ENOMEM.
    /// </summary>
    public Errno AttachPasid(EndpointDevice device, uint pasid, IIommuDomain domain, IIommuDomain? old)
    {
        ArgumentNullException.ThrowIfNull(domain);
        return domain is MockPagingDomain or MockNestedDomain && domain.Iommu == this
            ? GetDevice(device).SetPasid(pasid, domain)
            : Errno.EINVAL;
    }

    /// <summary>The blocked domain's set_dev_pasid: the PASID translates nothing any more.</summary>
    public void DetachPasid(EndpointDevice device, uint pasid) => GetDevice(device).SetPasid(pasid, null);

    /// <summary>A DMA with a PASID goes through the domain attached to that PASID (blocked when there is none).</summary>
    public DmaStatus Dma(EndpointDevice device, uint? pasid, ulong iova, Span<byte> buffer, DmaDirection direction) =>
        pasid is not { } p ? Dma(device, iova, buffer, direction)
        : GetDevice(device).GetPasidDomain(p) switch
        {
            MockPagingDomain paging => Transfer(paging, iova, buffer, direction),
            MockNestedDomain nested => Transfer(nested.Parent, iova, buffer, direction),
            _ => DmaStatus.Blocked,
        };

    /// <summary>The domain the driver's PASID table holds for <paramref name="pasid"/> of the device, or null when it is blocked.</summary>
    public IIommuDomain? GetPasidDomain(EndpointDevice device, uint pasid) => GetDevice(device).GetPasidDomain(pasid);

    /// <summary>
    /// DMA through the device's attachment. A paging domain translates directly; a nested domain translates through
    /// its parent, because the mock has no stage 1 (its nested domains are IOTLB tags only). Blocked or unattached
    /// devices get <see cref="DmaStatus.Blocked"/>. The transfer goes mock page by mock page, so the pages before a
    /// faulting one have been transferred when a fault is reported, as with a burst of separate bus transactions;
    /// a write dirties each page it reaches while the table tracks dirty pages.
    /// </summary>
    public DmaStatus Dma(EndpointDevice device, ulong iova, Span<byte> buffer, DmaDirection direction) =>
        GetDevice(device).TranslationTable is { } table ? Transfer(table, iova, buffer, direction) : DmaStatus.Blocked;

    private DmaStatus Transfer(MockPagingDomain table, ulong iova, Span<byte> buffer, DmaDirection direction)
    {
        var needed = direction == DmaDirection.Read ? IommuProtection.Read : IommuProtection.Write;
        while (!buffer.IsEmpty)
        {
            if (!table.TryTranslate(iova, direction == DmaDirection.Write, out ulong pa, out var protection))
            {
                return DmaStatus.TranslationFault;
            }

            if ((protection & needed) == 0)
            {
                return DmaStatus.PermissionFault;
            }

            const ulong page = MockPagingDomain.IoPageSize;
            int chunk = (int)Math.Min((ulong)buffer.Length, page - (iova & (page - 1)));
            bool ok = direction == DmaDirection.Read
                ? Memory.TryRead(pa, buffer[..chunk])
                : Memory.TryWrite(pa, buffer[..chunk]);
            if (!ok)
            {
                return DmaStatus.BusError;
            }

            buffer = buffer[chunk..];
            iova += (ulong)chunk;
        }

        return DmaStatus.Ok;
    }

    /// <summary>
    /// IOTLB slot <paramref name="slot"/> of a mock nested domain (IOMMU_TEST_OP_MD_CHECK_IOTLB). Get the domain of
    /// a HWPT ID with <c>IommufdFile.GetHwptDomain</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The domain is not a nested domain of this IOMMU.</exception>
    public uint GetIotlb(IIommuDomain nested, int slot)
    {
        if (nested is not MockNestedDomain mock || mock.Iommu != this)
        {
            throw new ArgumentException($"not a nested domain of mock IOMMU '{Name}'", nameof(nested));
        }

        return mock.GetIotlb(slot);
    }

    /// <summary>Cache slot <paramref name="slot"/> of a device behind this IOMMU (IOMMU_TEST_OP_DEV_CHECK_CACHE).</summary>
    /// <exception cref="ArgumentException">The device is not behind this IOMMU.</exception>
    public uint GetDeviceCache(EndpointDevice device, int slot) => GetDevice(device).GetCache(slot);

    /// <summary>The domain the device is attached to right now, or null when it is blocked.</summary>
    public IIommuDomain? GetAttachedDomain(EndpointDevice device) => GetDevice(device).Domain;

    /// <summary>
    /// IOMMU_TEST_OP_TRIGGER_VEVENT (selftest.c iommufd_test_trigger_vevent()): reports an <see
    /// cref="IommuVeventqType.Selftest"/> event carrying the device's virtual ID to the vIOMMU it is attached through.
    /// ENOENT when the device is not attached to a nested domain of a vIOMMU. Like the kernel op it succeeds even when
    /// no vEVENTQ takes the event (it is then dropped, drivers/iommu/iommufd/driver.c iommufd_viommu_report_event()).
    /// </summary>
    /// <remarks>
    /// The kernel also answers ENOENT for a recorded virtual ID of 0, because its mock uses 0 for "none". Here a
    /// vDEVICE with virt_id 0 is a vDEVICE like any other: the record says explicitly whether there is a vIOMMU.
    /// </remarks>
    public Errno TriggerVevent(EndpointDevice device)
    {
        if (!GetDevice(device).TryGetViommu(out var viommu, out ulong virtId))
        {
            return Refusal.Because(Errno.ENOENT, $"TRIGGER_VEVENT: {device} is not attached through a vIOMMU");
        }

        var payload = new IommuViommuEventSelftest { VirtId = (uint)virtId };
        viommu.Context.ReportEvent(IommuVeventqType.Selftest, MemoryMarshal.AsBytes(new ReadOnlySpan<IommuViommuEventSelftest>(in payload)));
        return Errno.Success;
    }

    /// <summary>The instance as messages name it ("mock IOMMU 'mock0'").</summary>
    public override string ToString() => $"mock IOMMU '{Name}'";

    /// <summary>The driver's state for a device behind this IOMMU.</summary>
    internal MockDevice GetDevice(EndpointDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return _devices.TryGetValue(device, out var mdev)
            ? mdev
            : throw new ArgumentException($"{device} is not behind mock IOMMU '{Name}'", nameof(device));
    }

    internal void DomainAllocated() => Interlocked.Increment(ref _domainCount);

    internal void DomainFreed() => Interlocked.Decrement(ref _domainCount);

    internal void ViommuCreated() => Interlocked.Increment(ref _viommuCount);

    internal void ViommuDestroyed() => Interlocked.Decrement(ref _viommuCount);
}
