using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_device_attach_iommufd_pt, the argument of VFIO_DEVICE_ATTACH_IOMMUFD_PT.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioDeviceAttachIommufdPt
{
    public uint Argsz;
    public uint Flags;

    /// <summary>Input: an IOAS or HWPT ID; output: the HWPT the device is now attached to.</summary>
    public uint PtId;

    /// <summary>With VFIO_DEVICE_ATTACH_PASID: the PASID to attach.</summary>
    public uint Pasid;
}
