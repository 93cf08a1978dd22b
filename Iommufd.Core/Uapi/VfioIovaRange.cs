using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iova_range: one usable IOVA range, both ends inclusive.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIovaRange
{
    public ulong Start;

    public ulong End;
}
