using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_vfio_ioas, the argument of IOMMU_VFIO_IOAS (0x88).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuVfioIoas
{
    /// <summary>
    /// <c>size</c> of struct iommu_vfio_ioas: the caller's sizeof, which IOMMU_VFIO_IOAS copies in; bytes past the
    /// fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Input for SET, output for GET.</summary>
    public uint IoasId;

    /// <summary>One of <see cref="IommuVfioIoasOp"/>.</summary>
    public ushort Op;

    /// <summary>Must be 0.</summary>
    public ushort Reserved;
}
