using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hw_info, the argument of IOMMU_GET_HW_INFO (0x8a).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwInfo
{
    /// <summary>
    /// <c>size</c> of struct iommu_hw_info: the caller's sizeof, which IOMMU_GET_HW_INFO copies in; bytes past the
    /// fields this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>A combination of <see cref="IommuHwInfoFlags"/>.</summary>
    public uint Flags;

    /// <summary><c>dev_id</c>: the device, bound to this iommufd, whose IOMMU is asked.</summary>
    public uint DevId;

    /// <summary>
    /// Input: length of the buffer at <see cref="DataUptr"/>. Output: full length of the driver's data.
    /// </summary>
    public uint DataLen;

    /// <summary>User pointer to the buffer that receives the driver's data.</summary>
    public ulong DataUptr;

    /// <summary>
    /// The kernel's union { in_data_type; out_data_type }: input, the requested <see cref="IommuHwInfoType"/> when
    /// <see cref="IommuHwInfoFlags.InputType"/> is set; output, the type of the data returned.
    /// </summary>
    public uint DataType;

    /// <summary>Output: PASID width in bits; 0 means the device has no PASID support.</summary>
    public byte OutMaxPasidLog2;

    /// <summary>Three reserved bytes (__reserved[3]); all must be 0.</summary>
    public Byte3 Reserved;

    /// <summary>Output: a combination of <see cref="IommuHwCapabilities"/>.</summary>
    public ulong OutCapabilities;
}
