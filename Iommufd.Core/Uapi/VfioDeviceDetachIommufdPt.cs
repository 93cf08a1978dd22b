using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_device_detach_iommufd_pt, the argument of VFIO_DEVICE_DETACH_IOMMUFD_PT.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioDeviceDetachIommufdPt
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;
    /// <summary>
    /// <c>flags</c>: 0, or VFIO_DEVICE_DETACH_PASID to detach <see cref="Pasid"/> instead of the whole device.
    /// </summary>
    public uint Flags;

    /// <summary>With VFIO_DEVICE_DETACH_PASID: the PASID to detach.</summary>
    public uint Pasid;
}
