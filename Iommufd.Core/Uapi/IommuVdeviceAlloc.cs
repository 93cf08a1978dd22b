using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_vdevice_alloc, the argument of IOMMU_VDEVICE_ALLOC (0x91).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuVdeviceAlloc
{
    /// <summary>
    /// <c>size</c> of struct iommu_vdevice_alloc: the caller's sizeof, which IOMMU_VDEVICE_ALLOC copies in; bytes past
    /// the fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;
    /// <summary><c>viommu_id</c>: the vIOMMU the device is presented behind.</summary>
    public uint ViommuId;
    /// <summary><c>dev_id</c>: the physical device, bound to this iommufd, that the vDEVICE stands for.</summary>
    public uint DevId;

    /// <summary>Output: ID of the new vDEVICE.</summary>
    public uint OutVdeviceId;

    /// <summary>The device ID the guest sees (a vSID on SMMUv3).</summary>
    public ulong VirtId;
}
