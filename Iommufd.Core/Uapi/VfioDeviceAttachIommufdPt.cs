using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_device_attach_iommufd_pt, the argument of VFIO_DEVICE_ATTACH_IOMMUFD_PT.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioDeviceAttachIommufdPt
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;
    /// <summary>
    /// <c>flags</c>: 0, or VFIO_DEVICE_ATTACH_PASID to attach <see cref="Pasid"/> instead of the whole device.
    /// </summary>
    public uint Flags;

    /// <summary>Input: an IOAS or HWPT ID; output: the HWPT the device is now attached to.</summary>
    public uint PtId;

    /// <summary>With VFIO_DEVICE_ATTACH_PASID: the PASID to attach.</summary>
    public uint Pasid;
}
