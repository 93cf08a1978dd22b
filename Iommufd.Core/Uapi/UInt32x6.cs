using System.Runtime.CompilerServices;

namespace Iommufd.Core.Uapi;

/// <summary>A fixed array of six 32-bit words, laid out like the C <c>__u32[6]</c> of a UAPI struct.</summary>
[InlineArray(6)]
public struct UInt32x6
{
    private uint _element0;
}
