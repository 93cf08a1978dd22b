using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_ioas_allow_iovas, the argument of IOMMU_IOAS_ALLOW_IOVAS (0x82).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuIoasAllowIovas
{
    /// <summary>
    /// <c>size</c> of struct iommu_ioas_allow_iovas: the caller's sizeof, which IOMMU_IOAS_ALLOW_IOVAS copies in; bytes
    /// past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;
    /// <summary><c>ioas_id</c>: the IOAS whose allowed ranges the given list replaces.</summary>
    public uint IoasId;

    /// <summary>Number of entries at <see cref="AllowedIovas"/>; the list replaces the previous one.</summary>
    public uint NumIovas;

    /// <summary>Must be 0.</summary>
    public uint Reserved;

    /// <summary>User pointer to an array of <see cref="IommuIovaRange"/>.</summary>
    public ulong AllowedIovas;
}
