using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_hw_info, the argument of IOMMU_GET_HW_INFO (0x8a).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwInfo
{
    public uint Size;

    /// <summary>A combination of <see cref="IommuHwInfoFlags"/>.</summary>
    public uint Flags;

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
