using System.Runtime.CompilerServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// A fixed array of two 64-bit words, laid out like the C <c>__u64[2]</c> or <c>__le64[2]</c> of a UAPI struct.
/// </summary>
[InlineArray(2)]
public struct UInt64x2
{
    private ulong _element0;
}
