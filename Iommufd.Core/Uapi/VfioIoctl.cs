namespace Iommufd.Core.Uapi;

/// <summary>
/// The VFIO device-fd request numbers and constants the emulated <c>/dev/vfio/devices/vfioN</c> nodes answer
/// (include/uapi/linux/vfio.h; the vfio-pci region layout from include/uapi/linux/vfio.h and
/// drivers/vfio/pci/vfio_pci_priv.h).
/// </summary>
public static class VfioIoctl
{
    /// <summary>VFIO_TYPE, the ioctl magic <c>';'</c> (the same as iommufd's).</summary>
    public const uint Type = 0x3B;

    /// <summary>VFIO_BASE, the first VFIO command number.</summary>
    public const uint Base = 100;

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
