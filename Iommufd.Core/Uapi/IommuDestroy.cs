using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_destroy, the argument of IOMMU_DESTROY (0x80).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuDestroy
{
    /// <summary>
    /// <c>size</c> of struct iommu_destroy: the caller's sizeof, which IOMMU_DESTROY copies in; bytes past the fields
    /// this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>ID of the object to destroy; any destroyable object type.</summary>
    public uint Id;
}
