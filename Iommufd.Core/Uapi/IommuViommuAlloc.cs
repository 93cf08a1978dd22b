using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_viommu_alloc, the argument of IOMMU_VIOMMU_ALLOC (0x90).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuViommuAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_viommu_alloc: the caller's sizeof, which IOMMU_VIOMMU_ALLOC copies in; bytes past
    /// the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    /// <summary>One of <see cref="IommuViommuType"/>.</summary>
    public uint Type;

    /// <summary><c>dev_id</c>: a device behind the physical IOMMU the vIOMMU is made on.</summary>
    public uint DevId;

    /// <summary>The nest-parent paging HWPT.</summary>
    public uint HwptId;

    /// <summary>Output: ID of the new vIOMMU; the original struct ends here.</summary>
    public uint OutViommuId;

    /// <summary>Length of the driver data at <see cref="DataUptr"/>.</summary>
    public uint DataLen;

    /// <summary>Reserved; the kernel does not check it.</summary>
    public uint Reserved;

    /// <summary>User pointer to the driver data selected by <see cref="Type"/>.</summary>
    public ulong DataUptr;
}
