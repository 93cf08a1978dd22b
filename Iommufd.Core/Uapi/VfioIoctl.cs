namespace Iommufd.Core.Uapi;

/// <summary>
/// The VFIO request numbers and constants: the type1 container ioctls the iommufd fd answers for VFIO compatibility
/// and the ones the emulated <c>/dev/vfio/devices/vfioN</c> nodes answer (include/uapi/linux/vfio.h; the vfio-pci
/// region layout from include/uapi/linux/vfio.h and drivers/vfio/pci/vfio_pci_priv.h).
/// </summary>
public static class VfioIoctl
{
    /// <summary>VFIO_TYPE, the ioctl magic <c>';'</c> (the same as iommufd's).</summary>
    public const uint Type = 0x3B;

    /// <summary>VFIO_BASE, the first VFIO command number.</summary>
    public const uint Base = 100;

    /// <summary>VFIO_API_VERSION, what VFIO_GET_API_VERSION returns.</summary>
    public const int VFIO_API_VERSION = 0;

    /// <summary>VFIO_GET_API_VERSION, <c>_IO(VFIO_TYPE, VFIO_BASE + 0)</c>: the container's first ioctl.</summary>
    public const uint VFIO_GET_API_VERSION = (Type << 8) | (Base + 0);

    /// <summary>VFIO_CHECK_EXTENSION, <c>_IO(VFIO_TYPE, VFIO_BASE + 1)</c>: the argument is the extension, not a pointer.</summary>
    public const uint VFIO_CHECK_EXTENSION = (Type << 8) | (Base + 1);

    /// <summary>VFIO_SET_IOMMU, <c>_IO(VFIO_TYPE, VFIO_BASE + 2)</c>: the argument is the IOMMU type.</summary>
    public const uint VFIO_SET_IOMMU = (Type << 8) | (Base + 2);

    /// <summary>VFIO_IOMMU_GET_INFO, <c>_IO(VFIO_TYPE, VFIO_BASE + 12)</c>.</summary>
    public const uint VFIO_IOMMU_GET_INFO = (Type << 8) | (Base + 12);

    /// <summary>VFIO_IOMMU_MAP_DMA, <c>_IO(VFIO_TYPE, VFIO_BASE + 13)</c>.</summary>
    public const uint VFIO_IOMMU_MAP_DMA = (Type << 8) | (Base + 13);

    /// <summary>VFIO_IOMMU_UNMAP_DMA, <c>_IO(VFIO_TYPE, VFIO_BASE + 14)</c>.</summary>
    public const uint VFIO_IOMMU_UNMAP_DMA = (Type << 8) | (Base + 14);

    /// <summary>VFIO_IOMMU_DIRTY_PAGES, <c>_IO(VFIO_TYPE, VFIO_BASE + 17)</c>: iommufd does not provide it.</summary>
    public const uint VFIO_IOMMU_DIRTY_PAGES = (Type << 8) | (Base + 17);

    /// <summary>VFIO_TYPE1_IOMMU, an IOMMU type and extension.</summary>
    public const ulong VFIO_TYPE1_IOMMU = 1;

    /// <summary>VFIO_TYPE1v2_IOMMU, an IOMMU type and extension.</summary>
    public const ulong VFIO_TYPE1v2_IOMMU = 3;

    /// <summary>VFIO_DMA_CC_IOMMU: every domain enforces cache coherency.</summary>
    public const ulong VFIO_DMA_CC_IOMMU = 4;

    /// <summary>__VFIO_RESERVED_TYPE1_NESTING_IOMMU (was VFIO_TYPE1_NESTING_IOMMU).</summary>
    public const ulong VFIO_TYPE1_NESTING_IOMMU = 6;

    /// <summary>VFIO_NOIOMMU_IOMMU.</summary>
    public const ulong VFIO_NOIOMMU_IOMMU = 8;

    /// <summary>VFIO_UNMAP_ALL: VFIO_DMA_UNMAP_FLAG_ALL is supported.</summary>
    public const ulong VFIO_UNMAP_ALL = 9;

    /// <summary>VFIO_UPDATE_VADDR: VFIO_DMA_MAP_FLAG_VADDR is supported.</summary>
    public const ulong VFIO_UPDATE_VADDR = 10;

    /// <summary>VFIO_DMA_MAP_FLAG_READ.</summary>
    public const uint VFIO_DMA_MAP_FLAG_READ = 1u << 0;

    /// <summary>VFIO_DMA_MAP_FLAG_WRITE.</summary>
    public const uint VFIO_DMA_MAP_FLAG_WRITE = 1u << 1;

    /// <summary>VFIO_DMA_MAP_FLAG_VADDR.</summary>
    public const uint VFIO_DMA_MAP_FLAG_VADDR = 1u << 2;

    /// <summary>VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP.</summary>
    public const uint VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1u << 0;

    /// <summary>VFIO_DMA_UNMAP_FLAG_ALL: unmap everything (iova and size 0).</summary>
    public const uint VFIO_DMA_UNMAP_FLAG_ALL = 1u << 1;

    /// <summary>VFIO_DMA_UNMAP_FLAG_VADDR.</summary>
    public const uint VFIO_DMA_UNMAP_FLAG_VADDR = 1u << 2;

    /// <summary>VFIO_IOMMU_INFO_PGSIZES: iova_pgsizes is valid.</summary>
    public const uint VFIO_IOMMU_INFO_PGSIZES = 1u << 0;

    /// <summary>VFIO_IOMMU_INFO_CAPS: the info supports capabilities.</summary>
    public const uint VFIO_IOMMU_INFO_CAPS = 1u << 1;

    /// <summary>VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE.</summary>
    public const ushort VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;

    /// <summary>VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION (vfio_compat.c does not report it).</summary>
    public const ushort VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;

    /// <summary>VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL.</summary>
    public const ushort VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

    /// <summary>VFIO_DEVICE_GET_INFO, <c>_IO(VFIO_TYPE, VFIO_BASE + 7)</c>.</summary>
    public const uint VFIO_DEVICE_GET_INFO = (Type << 8) | (Base + 7);

    /// <summary>VFIO_DEVICE_GET_REGION_INFO, <c>_IO(VFIO_TYPE, VFIO_BASE + 8)</c>.</summary>
    public const uint VFIO_DEVICE_GET_REGION_INFO = (Type << 8) | (Base + 8);

    /// <summary>VFIO_DEVICE_BIND_IOMMUFD, <c>_IO(VFIO_TYPE, VFIO_BASE + 18)</c>.</summary>
    public const uint VFIO_DEVICE_BIND_IOMMUFD = (Type << 8) | (Base + 18);

    /// <summary>VFIO_DEVICE_ATTACH_IOMMUFD_PT, <c>_IO(VFIO_TYPE, VFIO_BASE + 19)</c>.</summary>
    public const uint VFIO_DEVICE_ATTACH_IOMMUFD_PT = (Type << 8) | (Base + 19);

    /// <summary>VFIO_DEVICE_DETACH_IOMMUFD_PT, <c>_IO(VFIO_TYPE, VFIO_BASE + 20)</c>.</summary>
    public const uint VFIO_DEVICE_DETACH_IOMMUFD_PT = (Type << 8) | (Base + 20);

    /// <summary>VFIO_DEVICE_BIND_FLAG_TOKEN: <c>token_uuid_ptr</c> is valid.</summary>
    public const uint VFIO_DEVICE_BIND_FLAG_TOKEN = 1u << 0;

    /// <summary>VFIO_DEVICE_ATTACH_PASID / VFIO_DEVICE_DETACH_PASID: <c>pasid</c> is valid.</summary>
    public const uint VFIO_DEVICE_PASID = 1u << 0;

    /// <summary>VFIO_DEVICE_FLAGS_PCI: a vfio-pci device.</summary>
    public const uint VFIO_DEVICE_FLAGS_PCI = 1u << 1;

    /// <summary>VFIO_REGION_INFO_FLAG_READ.</summary>
    public const uint VFIO_REGION_INFO_FLAG_READ = 1u << 0;

    /// <summary>VFIO_REGION_INFO_FLAG_WRITE.</summary>
    public const uint VFIO_REGION_INFO_FLAG_WRITE = 1u << 1;

    /// <summary>VFIO_REGION_INFO_FLAG_MMAP.</summary>
    public const uint VFIO_REGION_INFO_FLAG_MMAP = 1u << 2;

    /// <summary>VFIO_PCI_BAR5_REGION_INDEX: BARs 0–5 are regions 0–5.</summary>
    public const uint VFIO_PCI_BAR5_REGION_INDEX = 5;

    /// <summary>VFIO_PCI_ROM_REGION_INDEX.</summary>
    public const uint VFIO_PCI_ROM_REGION_INDEX = 6;

    /// <summary>VFIO_PCI_CONFIG_REGION_INDEX.</summary>
    public const uint VFIO_PCI_CONFIG_REGION_INDEX = 7;

    /// <summary>VFIO_PCI_VGA_REGION_INDEX.</summary>
    public const uint VFIO_PCI_VGA_REGION_INDEX = 8;

    /// <summary>VFIO_PCI_NUM_REGIONS.</summary>
    public const uint VFIO_PCI_NUM_REGIONS = 9;

    /// <summary>VFIO_PCI_NUM_IRQS (INTx, MSI, MSI-X, ERR, REQ).</summary>
    public const uint VFIO_PCI_NUM_IRQS = 5;

    /// <summary>VFIO_PCI_OFFSET_SHIFT: region <c>i</c> starts at offset <c>i &lt;&lt; 40</c> of the device fd.</summary>
    public const int VFIO_PCI_OFFSET_SHIFT = 40;
}
