using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_pgfault, one record read from the fault fd that IOMMU_FAULT_QUEUE_ALLOC (0x8e) returns.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptPgfault
{
    /// <summary>A combination of <see cref="IommuHwptPgfaultFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>dev_id</c>: the faulting device's ID in this iommufd.</summary>
    public uint DevId;

    /// <summary>Valid with <see cref="IommuHwptPgfaultFlags.PasidValid"/>.</summary>
    public uint Pasid;

    /// <summary>Page request group index.</summary>
    public uint Grpid;

    /// <summary>A combination of <see cref="IommuHwptPgfaultPerm"/>.</summary>
    public uint Perm;

    /// <summary><c>__reserved</c>: always 0.</summary>
    public uint Reserved;

    /// <summary>The faulting address.</summary>
    public ulong Addr;

    /// <summary>
    /// <c>length</c>: a hint of how many bytes from <see cref="Addr"/> the device means to access; 0 for no hint.
    /// </summary>
    public uint Length;

    /// <summary>Echoed in <see cref="IommuHwptPageResponse.Cookie"/>.</summary>
    public uint Cookie;
}
