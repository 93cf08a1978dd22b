namespace Iommufd.Core.Driver;

/// <summary>
/// The driver side of a vIOMMU (the kernel's <c>struct iommufd_viommu</c> with its <c>viommu_ops</c>). Optional
/// ops are separate interfaces the same object may implement: <see cref="IUserCacheInvalidation"/>,
/// <see cref="IViommuNestedDomains"/>, <see cref="IViommuVdevices"/>, <see cref="IViommuHwQueues"/>.
/// </summary>
public interface IViommu
{
    /// <summary>Releases the driver's state (mmap registrations, hardware slots). Called once.</summary>
    void Destroy();
}

/// <summary>The vIOMMU op <c>alloc_domain_nested</c>: IOMMU_HWPT_ALLOC with a vIOMMU as <c>pt_id</c>.</summary>
public interface IViommuNestedDomains
{
    /// <param name="flags">The caller's flags, FAULT_ID_VALID already removed by the core.</param>
    /// <param name="data">The driver data (never empty: the core answers an empty blob with EOPNOTSUPP).</param>
    /// <param name="domain">The new nested domain.</param>
    Errno AllocNestedDomain(Uapi.IommuHwptAllocFlags flags, UserData data, out INestedDomain domain);
}

/// <summary>The vIOMMU ops <c>vdevice_size</c>/<c>vdevice_init</c> and the matching destroy.</summary>
public interface IViommuVdevices
{
    /// <summary>Programs the hardware for a new vDEVICE (Tegra241: a SID match/replace pair).</summary>
    Errno InitVdevice(IVdeviceContext vdevice);

    /// <summary>Undoes <see cref="InitVdevice"/>.</summary>
    void DestroyVdevice(IVdeviceContext vdevice);
}

/// <summary>The vIOMMU ops <c>get_hw_queue_size</c>/<c>hw_queue_init_phys</c>.</summary>
public interface IViommuHwQueues
{
    /// <summary>True when the vIOMMU can allocate HW queues of <paramref name="type"/>.</summary>
    bool SupportsHwQueue(Uapi.IommuHwQueueType type);

    /// <summary>
    /// Initializes a HW queue whose memory the core has pinned; ordering, duplicate and size rules are the
    /// driver's. On success the driver may call <see cref="IHwQueueContext.DependOn"/>.
    /// </summary>
    Errno InitHwQueue(IHwQueueContext queue, out IHwQueue hwQueue);
}

/// <summary>The driver side of a HW queue.</summary>
public interface IHwQueue
{
    /// <summary>Tears the queue down. Called once, in the order the dependencies allow.</summary>
    void Destroy();
}
