using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_veventq_alloc, the argument of IOMMU_VEVENTQ_ALLOC (0x93).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuVeventqAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_veventq_alloc: the caller's sizeof, which IOMMU_VEVENTQ_ALLOC copies in; bytes past
    /// the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    /// <summary><c>viommu_id</c>: the vIOMMU whose events of <see cref="Type"/> the queue reports.</summary>
    public uint ViommuId;

    /// <summary>One of <see cref="IommuVeventqType"/>.</summary>
    public uint Type;

    /// <summary>Maximum number of queued events; must not be 0.</summary>
    public uint VeventqDepth;

    /// <summary>Output: ID of the new vEVENTQ.</summary>
    public uint OutVeventqId;

    /// <summary>Output: file descriptor to read events from; the original struct ends here.</summary>
    public uint OutVeventqFd;

    /// <summary>Must be 0.</summary>
    public uint Reserved;
}
