using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_device_info, the argument of VFIO_DEVICE_GET_INFO.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioDeviceInfo
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;

    /// <summary>Output: VFIO_DEVICE_FLAGS_*.</summary>
    public uint Flags;

    /// <summary>Output: the highest region index + 1.</summary>
    public uint NumRegions;

    /// <summary>Output: the highest IRQ index + 1.</summary>
    public uint NumIrqs;

    /// <summary>Output: offset of the first capability (with VFIO_DEVICE_FLAGS_CAPS).</summary>
    public uint CapOffset;

    /// <summary><c>pad</c>: alignment; always 0.</summary>
    public uint Pad;
}
