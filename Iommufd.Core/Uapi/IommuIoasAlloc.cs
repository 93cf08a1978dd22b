using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_alloc, the argument of IOMMU_IOAS_ALLOC (0x81).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_alloc: the caller's sizeof, which IOMMU_IOAS_ALLOC copies in; bytes past the
    /// fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    /// <summary>Output: ID of the new IOAS.</summary>
    public uint OutIoasId;
}
