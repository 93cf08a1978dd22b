using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_fault_alloc, the argument of IOMMU_FAULT_QUEUE_ALLOC (0x8e).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuFaultAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_fault_alloc: the caller's sizeof, which IOMMU_FAULT_QUEUE_ALLOC copies in; bytes
    /// past the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    /// <summary>Output: ID of the new fault queue.</summary>
    public uint OutFaultId;

    /// <summary>Output: file descriptor to read faults from and write responses to.</summary>
    public uint OutFaultFd;
}
