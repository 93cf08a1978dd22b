using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_test_hw_info, the data IOMMU_GET_HW_INFO (0x8a) returns for <see cref="IommuHwInfoType.Selftest"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuTestHwInfo
{
    /// <summary><c>flags</c>: always 0; the selftest driver defines none.</summary>
    public uint Flags;

    /// <summary>Always <see cref="SelftestConstants.TestHwInfoReg"/>.</summary>
    public uint TestReg;
}
