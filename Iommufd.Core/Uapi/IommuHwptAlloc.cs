using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hwpt_alloc, the argument of IOMMU_HWPT_ALLOC (0x89).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_hwpt_alloc: the caller's sizeof, which IOMMU_HWPT_ALLOC copies in; bytes past the
    /// fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A combination of <see cref="IommuHwptAllocFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>dev_id</c>: the device the HWPT is allocated for; its IOMMU driver makes the domain.</summary>
    public uint DevId;

    /// <summary>The parent: an IOAS, a nest-parent HWPT or a vIOMMU.</summary>
    public uint PtId;

    /// <summary>Output: ID of the new HWPT.</summary>
    public uint OutHwptId;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary>One of <see cref="IommuHwptDataType"/>; the original struct ends before this field.</summary>
    public uint DataType;

    /// <summary>Length of the driver data at <see cref="DataUptr"/>.</summary>
    public uint DataLen;

    /// <summary>User pointer to the driver data selected by <see cref="DataType"/>.</summary>
    public ulong DataUptr;

    /// <summary>A fault queue ID; used with <see cref="IommuHwptAllocFlags.FaultIdValid"/>.</summary>
    public uint FaultId;

    /// <summary>Must be 0.</summary>
    public uint Reserved2;
}
