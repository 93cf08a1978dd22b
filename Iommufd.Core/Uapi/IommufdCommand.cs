namespace Iommufd.Core.Uapi;

/// <summary>The iommufd command numbers (IOMMUFD_CMD_*), the <c>nr</c> of each <c>_IO(';', nr)</c> ioctl.</summary>
/// <remarks>The full ioctl number is <see cref="IommufdIoctl.Number(IommufdCommand)"/>.</remarks>
public enum IommufdCommand : uint
{
    /// <summary>IOMMU_DESTROY; the argument is <see cref="IommuDestroy"/>.</summary>
    Destroy = 0x80,

    /// <summary>IOMMU_IOAS_ALLOC; the argument is <see cref="IommuIoasAlloc"/>.</summary>
    IoasAlloc = 0x81,

    /// <summary>IOMMU_IOAS_ALLOW_IOVAS; the argument is <see cref="IommuIoasAllowIovas"/>.</summary>
    IoasAllowIovas = 0x82,

    /// <summary>IOMMU_IOAS_COPY; the argument is <see cref="IommuIoasCopy"/>.</summary>
    IoasCopy = 0x83,

    /// <summary>IOMMU_IOAS_IOVA_RANGES; the argument is <see cref="IommuIoasIovaRanges"/>.</summary>
    IoasIovaRanges = 0x84,

    /// <summary>IOMMU_IOAS_MAP; the argument is <see cref="IommuIoasMap"/>.</summary>
    IoasMap = 0x85,

    /// <summary>IOMMU_IOAS_UNMAP; the argument is <see cref="IommuIoasUnmap"/>.</summary>
    IoasUnmap = 0x86,

    /// <summary>IOMMU_OPTION; the argument is <see cref="IommuOption"/>.</summary>
    Option = 0x87,

    /// <summary>IOMMU_VFIO_IOAS; the argument is <see cref="IommuVfioIoas"/>.</summary>
    VfioIoas = 0x88,

    /// <summary>IOMMU_HWPT_ALLOC; the argument is <see cref="IommuHwptAlloc"/>.</summary>
    HwptAlloc = 0x89,

    /// <summary>IOMMU_GET_HW_INFO; the argument is <see cref="IommuHwInfo"/>.</summary>
    GetHwInfo = 0x8A,

    /// <summary>IOMMU_HWPT_SET_DIRTY_TRACKING; the argument is <see cref="IommuHwptSetDirtyTracking"/>.</summary>
    HwptSetDirtyTracking = 0x8B,

    /// <summary>IOMMU_HWPT_GET_DIRTY_BITMAP; the argument is <see cref="IommuHwptGetDirtyBitmap"/>.</summary>
    HwptGetDirtyBitmap = 0x8C,

    /// <summary>IOMMU_HWPT_INVALIDATE; the argument is <see cref="IommuHwptInvalidate"/>.</summary>
    HwptInvalidate = 0x8D,

    /// <summary>IOMMU_FAULT_QUEUE_ALLOC; the argument is <see cref="IommuFaultAlloc"/>.</summary>
    FaultQueueAlloc = 0x8E,

    /// <summary>IOMMU_IOAS_MAP_FILE; the argument is <see cref="IommuIoasMapFile"/>.</summary>
    IoasMapFile = 0x8F,

    /// <summary>IOMMU_VIOMMU_ALLOC; the argument is <see cref="IommuViommuAlloc"/>.</summary>
    ViommuAlloc = 0x90,

    /// <summary>IOMMU_VDEVICE_ALLOC; the argument is <see cref="IommuVdeviceAlloc"/>.</summary>
    VdeviceAlloc = 0x91,

    /// <summary>IOMMU_IOAS_CHANGE_PROCESS; the argument is <see cref="IommuIoasChangeProcess"/>.</summary>
    IoasChangeProcess = 0x92,

    /// <summary>IOMMU_VEVENTQ_ALLOC; the argument is <see cref="IommuVeventqAlloc"/>.</summary>
    VeventqAlloc = 0x93,

    /// <summary>IOMMU_HW_QUEUE_ALLOC; the argument is <see cref="IommuHwQueueAlloc"/>.</summary>
    HwQueueAlloc = 0x94,

    /// <summary>IOMMU_TEST_CMD, the selftest-only command (0x80 + 32).</summary>
    TestCmd = 0xA0,
}
