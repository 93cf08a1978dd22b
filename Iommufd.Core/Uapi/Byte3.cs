using System.Runtime.CompilerServices;

namespace Iommufd.Core.Uapi;

/// <summary>A fixed array of three bytes, laid out like the C <c>__u8[3]</c> of a UAPI struct.</summary>
[InlineArray(3)]
public struct Byte3
{
    private byte _element0;
}
