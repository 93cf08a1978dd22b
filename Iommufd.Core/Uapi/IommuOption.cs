using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>struct iommu_option, the argument of IOMMU_OPTION (0x87).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuOption
{
    /// <summary>
    /// <c>size</c> of struct iommu_option: the caller's sizeof, which IOMMU_OPTION copies in; bytes past the fields
    /// this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    public uint Size;

    /// <summary>One of <see cref="IommuOptionId"/>.</summary>
    public uint OptionId;

    /// <summary>One of <see cref="IommuOptionOp"/>.</summary>
    public ushort Op;

    /// <summary>Must be 0.</summary>
    public ushort Reserved;

    /// <summary>The object the option applies to, or 0 for the whole iommufd context.</summary>
    public uint ObjectId;

    /// <summary>Value to set, or the value read back.</summary>
    public ulong Val64;
}
