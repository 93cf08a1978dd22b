using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hwpt_invalidate, the argument of IOMMU_HWPT_INVALIDATE (0x8d).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptInvalidate
{
    /// <summary>
    /// <c>size</c> of struct iommu_hwpt_invalidate: the caller's sizeof, which IOMMU_HWPT_INVALIDATE copies in; bytes
    /// past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A nested HWPT or a vIOMMU.</summary>
    public uint HwptId;

    /// <summary>
    /// User pointer to an array of <see cref="EntryNum"/> entries of <see cref="EntryLen"/> bytes each.
    /// </summary>
    public ulong DataUptr;

    /// <summary>One of <see cref="IommuHwptInvalidateDataType"/>; one type for every entry.</summary>
    public uint DataType;

    /// <summary>Length of one entry in bytes.</summary>
    public uint EntryLen;

    /// <summary>Input: number of entries. Output: number of entries the kernel handled, also on error.</summary>
    public uint EntryNum;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
