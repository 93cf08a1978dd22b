using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_destroy, the argument of IOMMU_DESTROY (0x80).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuDestroy
{
    public uint Size;

    /// <summary>ID of the object to destroy; any destroyable object type.</summary>
    public uint Id;
}
