using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_device_bind_iommufd, the argument of VFIO_DEVICE_BIND_IOMMUFD.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioDeviceBindIommufd
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;
    /// <summary><c>flags</c>: 0, or VFIO_DEVICE_BIND_FLAG_TOKEN when <see cref="TokenUuidPtr"/> is valid.</summary>
    public uint Flags;

    /// <summary>The /dev/iommu fd to bind to.</summary>
    public int Iommufd;

    /// <summary>Output: the device ID in that iommufd.</summary>
    public uint OutDevid;

    /// <summary>With VFIO_DEVICE_BIND_FLAG_TOKEN: user pointer to a 16-byte VF token.</summary>
    public ulong TokenUuidPtr;
}
