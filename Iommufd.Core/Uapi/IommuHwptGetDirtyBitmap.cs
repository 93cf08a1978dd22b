using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hwpt_get_dirty_bitmap, the argument of IOMMU_HWPT_GET_DIRTY_BITMAP (0x8c).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptGetDirtyBitmap
{
    /// <summary>
    /// <c>size</c> of struct iommu_hwpt_get_dirty_bitmap: the caller's sizeof, which IOMMU_HWPT_GET_DIRTY_BITMAP copies
    /// in; bytes past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;
    /// <summary><c>hwpt_id</c>: the paging HWPT, with dirty tracking on, to read and clear the dirty bits of.</summary>
    public uint HwptId;

    /// <summary>A combination of <see cref="IommuHwptGetDirtyBitmapFlags"/>.</summary>
    public uint Flags;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary><c>iova</c>: first IOVA of the range to report; the bitmap's bit 0 stands for it.</summary>
    public ulong Iova;
    /// <summary><c>length</c>: bytes of IOVA from <see cref="Iova"/> to report.</summary>
    public ulong Length;

    /// <summary>The page size one bitmap bit stands for.</summary>
    public ulong PageSize;

    /// <summary>User pointer to the bitmap.</summary>
    public ulong Data;
}
