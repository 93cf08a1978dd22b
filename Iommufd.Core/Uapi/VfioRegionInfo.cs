using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_region_info, the argument of VFIO_DEVICE_GET_REGION_INFO.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioRegionInfo
{
    /// <summary>
    /// <c>argsz</c>: the size of the caller's struct; VFIO refuses one shorter than the fields it reads (EINVAL).
    /// </summary>
    public uint Argsz;

    /// <summary>Output: VFIO_REGION_INFO_FLAG_*.</summary>
    public uint Flags;

    /// <summary>Input: the region index.</summary>
    public uint Index;

    /// <summary>Offset of the first capability (with VFIO_REGION_INFO_FLAG_CAPS).</summary>
    public uint CapOffset;

    /// <summary>Output: the region's size in bytes.</summary>
    public ulong Size;

    /// <summary>Output: the region's offset on the device fd.</summary>
    public ulong Offset;
}
