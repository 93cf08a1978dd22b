using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_vdevice_alloc, the argument of IOMMU_VDEVICE_ALLOC (0x91).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuVdeviceAlloc
{
    public uint Size;
    public uint ViommuId;
    public uint DevId;

    /// <summary>Output: ID of the new vDEVICE.</summary>
    public uint OutVdeviceId;

    /// <summary>The device ID the guest sees (a vSID on SMMUv3).</summary>
    public ulong VirtId;
}
