using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_device_detach_iommufd_pt, the argument of VFIO_DEVICE_DETACH_IOMMUFD_PT.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioDeviceDetachIommufdPt
{
    public uint Argsz;
    public uint Flags;

    /// <summary>With VFIO_DEVICE_DETACH_PASID: the PASID to detach.</summary>
    public uint Pasid;
}
