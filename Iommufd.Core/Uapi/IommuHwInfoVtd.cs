using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hw_info_vtd, the data IOMMU_GET_HW_INFO (0x8a) returns for <see cref="IommuHwInfoType.IntelVtd"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwInfoVtd
{
    /// <summary>A combination of <see cref="IommuHwInfoVtdFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>__reserved</c>: always 0.</summary>
    public uint Reserved;

    /// <summary>The VT-d capability register.</summary>
    public ulong CapReg;

    /// <summary>The VT-d extended capability register.</summary>
    public ulong EcapReg;
}
