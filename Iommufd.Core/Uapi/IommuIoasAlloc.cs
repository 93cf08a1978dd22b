using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_alloc, the argument of IOMMU_IOAS_ALLOC (0x81).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasAlloc
{
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    /// <summary>Output: ID of the new IOAS.</summary>
    public uint OutIoasId;
}
