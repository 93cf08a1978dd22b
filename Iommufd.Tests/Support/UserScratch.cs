using Iommufd.Core.Memory;

namespace Iommufd.Tests.Support;

/// <summary>A bump allocator over one user region, for ioctl arguments that live in user memory.</summary>
internal sealed class UserScratch(UserRegion region)
{
    private int _used;

    /// <summary>Copies <paramref name="bytes"/> in (8-byte aligned) and returns their user address.</summary>
    public ulong Put(ReadOnlySpan<byte> bytes)
    {
        int offset = (_used + 7) & ~7;
        if (offset + bytes.Length > (int)region.Length)
        {
            throw new InvalidOperationException("the scratch memory is full");
        }

        bytes.CopyTo(region.Span[offset..]);
        _used = offset + bytes.Length;
        return region.Address + (ulong)offset;
    }
}
