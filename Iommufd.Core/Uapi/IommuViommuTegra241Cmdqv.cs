using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_viommu_tegra241_cmdqv, the driver data of IOMMU_VIOMMU_ALLOC (0x90) for
/// <see cref="IommuViommuType.Tegra241Cmdqv"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuViommuTegra241Cmdqv
{
    /// <summary>Output: mmap() offset on the iommufd fd of the VINTF's page 0.</summary>
    public ulong OutVintfMmapOffset;

    /// <summary>Output: length to pass to mmap() (64 KiB).</summary>
    public ulong OutVintfMmapLength;
}
