namespace Iommufd.Core.Uapi;

/// <summary>
/// The iommufd ioctl numbers. Every command is <c>_IO(';', nr)</c>: no size and no direction bits, so the number is
/// <c>0x3B00 | nr</c>.
/// </summary>
/// <remarks>The constants keep the kernel's macro names so that they can be searched for.</remarks>
public static class IommufdIoctl
{
    /// <summary>IOMMUFD_TYPE, the ioctl magic <c>';'</c>.</summary>
    public const uint Type = 0x3B;

    /// <summary>IOMMUFD_CMD_BASE, the first command number.</summary>
    public const uint CmdBase = 0x80;

    /// <summary>The ioctl number of <paramref name="cmd"/>, as <c>_IO(';', cmd)</c> encodes it.</summary>
    public static uint Number(IommufdCommand cmd) => (Type << 8) | (uint)cmd;

    /// <summary>IOMMU_DESTROY, <see cref="IommufdCommand.Destroy"/>.</summary>
    public const uint IOMMU_DESTROY = (Type << 8) | (uint)IommufdCommand.Destroy;

    /// <summary>IOMMU_IOAS_ALLOC, <see cref="IommufdCommand.IoasAlloc"/>.</summary>
    public const uint IOMMU_IOAS_ALLOC = (Type << 8) | (uint)IommufdCommand.IoasAlloc;

    /// <summary>IOMMU_IOAS_ALLOW_IOVAS, <see cref="IommufdCommand.IoasAllowIovas"/>.</summary>
    public const uint IOMMU_IOAS_ALLOW_IOVAS = (Type << 8) | (uint)IommufdCommand.IoasAllowIovas;

    /// <summary>IOMMU_IOAS_COPY, <see cref="IommufdCommand.IoasCopy"/>.</summary>
    public const uint IOMMU_IOAS_COPY = (Type << 8) | (uint)IommufdCommand.IoasCopy;

    /// <summary>IOMMU_IOAS_IOVA_RANGES, <see cref="IommufdCommand.IoasIovaRanges"/>.</summary>
    public const uint IOMMU_IOAS_IOVA_RANGES = (Type << 8) | (uint)IommufdCommand.IoasIovaRanges;

    /// <summary>IOMMU_IOAS_MAP, <see cref="IommufdCommand.IoasMap"/>.</summary>
    public const uint IOMMU_IOAS_MAP = (Type << 8) | (uint)IommufdCommand.IoasMap;

    /// <summary>IOMMU_IOAS_UNMAP, <see cref="IommufdCommand.IoasUnmap"/>.</summary>
    public const uint IOMMU_IOAS_UNMAP = (Type << 8) | (uint)IommufdCommand.IoasUnmap;

    /// <summary>IOMMU_OPTION, <see cref="IommufdCommand.Option"/>.</summary>
    public const uint IOMMU_OPTION = (Type << 8) | (uint)IommufdCommand.Option;

    /// <summary>IOMMU_VFIO_IOAS, <see cref="IommufdCommand.VfioIoas"/>.</summary>
    public const uint IOMMU_VFIO_IOAS = (Type << 8) | (uint)IommufdCommand.VfioIoas;

    /// <summary>IOMMU_HWPT_ALLOC, <see cref="IommufdCommand.HwptAlloc"/>.</summary>
    public const uint IOMMU_HWPT_ALLOC = (Type << 8) | (uint)IommufdCommand.HwptAlloc;

    /// <summary>IOMMU_GET_HW_INFO, <see cref="IommufdCommand.GetHwInfo"/>.</summary>
    public const uint IOMMU_GET_HW_INFO = (Type << 8) | (uint)IommufdCommand.GetHwInfo;

    /// <summary>IOMMU_HWPT_SET_DIRTY_TRACKING, <see cref="IommufdCommand.HwptSetDirtyTracking"/>.</summary>
    public const uint IOMMU_HWPT_SET_DIRTY_TRACKING = (Type << 8) | (uint)IommufdCommand.HwptSetDirtyTracking;

    /// <summary>IOMMU_HWPT_GET_DIRTY_BITMAP, <see cref="IommufdCommand.HwptGetDirtyBitmap"/>.</summary>
    public const uint IOMMU_HWPT_GET_DIRTY_BITMAP = (Type << 8) | (uint)IommufdCommand.HwptGetDirtyBitmap;

    /// <summary>IOMMU_HWPT_INVALIDATE, <see cref="IommufdCommand.HwptInvalidate"/>.</summary>
    public const uint IOMMU_HWPT_INVALIDATE = (Type << 8) | (uint)IommufdCommand.HwptInvalidate;

    /// <summary>IOMMU_FAULT_QUEUE_ALLOC, <see cref="IommufdCommand.FaultQueueAlloc"/>.</summary>
    public const uint IOMMU_FAULT_QUEUE_ALLOC = (Type << 8) | (uint)IommufdCommand.FaultQueueAlloc;

    /// <summary>IOMMU_IOAS_MAP_FILE, <see cref="IommufdCommand.IoasMapFile"/>.</summary>
    public const uint IOMMU_IOAS_MAP_FILE = (Type << 8) | (uint)IommufdCommand.IoasMapFile;

    /// <summary>IOMMU_VIOMMU_ALLOC, <see cref="IommufdCommand.ViommuAlloc"/>.</summary>
    public const uint IOMMU_VIOMMU_ALLOC = (Type << 8) | (uint)IommufdCommand.ViommuAlloc;

    /// <summary>IOMMU_VDEVICE_ALLOC, <see cref="IommufdCommand.VdeviceAlloc"/>.</summary>
    public const uint IOMMU_VDEVICE_ALLOC = (Type << 8) | (uint)IommufdCommand.VdeviceAlloc;

    /// <summary>IOMMU_IOAS_CHANGE_PROCESS, <see cref="IommufdCommand.IoasChangeProcess"/>.</summary>
    public const uint IOMMU_IOAS_CHANGE_PROCESS = (Type << 8) | (uint)IommufdCommand.IoasChangeProcess;

    /// <summary>IOMMU_VEVENTQ_ALLOC, <see cref="IommufdCommand.VeventqAlloc"/>.</summary>
    public const uint IOMMU_VEVENTQ_ALLOC = (Type << 8) | (uint)IommufdCommand.VeventqAlloc;

    /// <summary>IOMMU_HW_QUEUE_ALLOC, <see cref="IommufdCommand.HwQueueAlloc"/>.</summary>
    public const uint IOMMU_HW_QUEUE_ALLOC = (Type << 8) | (uint)IommufdCommand.HwQueueAlloc;

    /// <summary>IOMMU_TEST_CMD, <see cref="IommufdCommand.TestCmd"/>.</summary>
    public const uint IOMMU_TEST_CMD = (Type << 8) | (uint)IommufdCommand.TestCmd;
}
