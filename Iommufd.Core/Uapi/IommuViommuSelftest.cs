using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_viommu_selftest, the driver data of IOMMU_VIOMMU_ALLOC (0x90) for
/// <see cref="IommuViommuType.Selftest"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuViommuSelftest
{
    /// <summary>Input: a value the mock writes into its mmap page.</summary>
    public uint InData;

    /// <summary>Output: a copy of <see cref="InData"/>.</summary>
    public uint OutData;

    /// <summary>Output: mmap() offset on the iommufd fd.</summary>
    public ulong OutMmapOffset;

    /// <summary>Output: length to pass to mmap() (two pages).</summary>
    public ulong OutMmapLength;
}
