using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommufd_vevent_header, the header before every record read from the fd that IOMMU_VEVENTQ_ALLOC (0x93)
/// returns.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommufdVeventHeader
{
    /// <summary>
    /// A combination of <see cref="IommuVeventqFlags"/>; a header with <see cref="IommuVeventqFlags.LostEvents"/> has
    /// no payload.
    /// </summary>
    public uint Flags;

    /// <summary>Sequence number, from 0 to <see cref="int.MaxValue"/>, then back to 0.</summary>
    public uint Sequence;
}
