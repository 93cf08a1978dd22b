using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hwpt_get_dirty_bitmap, the argument of IOMMU_HWPT_GET_DIRTY_BITMAP (0x8c).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptGetDirtyBitmap
{
    public uint Size;
    public uint HwptId;

    /// <summary>A combination of <see cref="IommuHwptGetDirtyBitmapFlags"/>.</summary>
    public uint Flags;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    public ulong Iova;
    public ulong Length;

    /// <summary>The page size one bitmap bit stands for.</summary>
    public ulong PageSize;

    /// <summary>User pointer to the bitmap.</summary>
    public ulong Data;
}
