using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_allow_iovas, the argument of IOMMU_IOAS_ALLOW_IOVAS (0x82).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasAllowIovas
{
    public uint Size;
    public uint IoasId;

    /// <summary>Number of entries at <see cref="AllowedIovas"/>; the list replaces the previous one.</summary>
    public uint NumIovas;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary>User pointer to an array of <see cref="IommuIovaRange"/>.</summary>
    public ulong AllowedIovas;
}
