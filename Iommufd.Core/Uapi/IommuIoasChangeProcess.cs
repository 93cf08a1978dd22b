using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_change_process, the argument of IOMMU_IOAS_CHANGE_PROCESS (0x92).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasChangeProcess
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_change_process: the caller's sizeof, which IOMMU_IOAS_CHANGE_PROCESS copies in;
    /// bytes past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
