using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iommu_type1_info, the argument of VFIO_IOMMU_GET_INFO (include/uapi/linux/vfio.h).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIommuType1Info
{
    /// <summary>In: the caller's buffer size. Out: the size that holds every capability.</summary>
    public uint Argsz;

    /// <summary>Output: VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS.</summary>
    public uint Flags;

    /// <summary>Output: the bitmap of IOMMU page sizes.</summary>
    public ulong IovaPgsizes;

    /// <summary>Output: offset of the first capability, 0 when they did not all fit.</summary>
    public uint CapOffset;

    /// <summary><c>pad</c>: alignment; always 0.</summary>
    public uint Pad;
}
