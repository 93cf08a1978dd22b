using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_change_process, the argument of IOMMU_IOAS_CHANGE_PROCESS (0x92).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasChangeProcess
{
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
