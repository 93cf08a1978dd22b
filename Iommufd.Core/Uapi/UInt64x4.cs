using System.Runtime.CompilerServices;

namespace Iommufd.Core.Uapi;

/// <summary>A fixed array of four 64-bit words, laid out like the C <c>__le64[4]</c> of a UAPI struct.</summary>
[InlineArray(4)]
public struct UInt64x4
{
    private ulong _element0;
}
