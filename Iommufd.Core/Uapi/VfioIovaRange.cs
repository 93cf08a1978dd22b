using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct vfio_iova_range: one usable IOVA range, both ends inclusive.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VfioIovaRange
{
    /// <summary><c>start</c>: the first usable IOVA.</summary>
    public ulong Start;

    /// <summary><c>end</c>: the last usable IOVA, inclusive.</summary>
    public ulong End;
}
