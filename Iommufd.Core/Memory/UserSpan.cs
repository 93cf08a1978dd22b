namespace Iommufd.Core.Memory;

/// <summary>
/// A user pointer and length as the kernel sees them before it copies: the bytes that are accessible from the
/// start of the range (possibly fewer than asked for) and whether the pointer was NULL. Copy helpers turn a
/// short prefix into EFAULT at the moment the kernel's <c>copy_from_user</c> would fault.
/// </summary>
public readonly ref struct UserSpan
{
    /// <summary>A fully accessible range: what the typed API passes.</summary>
    public UserSpan(Span<byte> bytes)
    {
        Accessible = bytes;
        Length = (ulong)bytes.Length;
    }

    internal UserSpan(Span<byte> accessible, ulong length, bool isNull)
    {
        Accessible = accessible;
        Length = length;
        IsNull = isNull;
    }

    /// <summary>The accessible prefix of the range.</summary>
    public Span<byte> Accessible { get; }

    /// <summary>The length the caller named.</summary>
    public ulong Length { get; }

    /// <summary>True for a NULL user pointer.</summary>
    public bool IsNull { get; }

    /// <summary>True when every byte of the range can be accessed.</summary>
    public bool IsFullyAccessible => (ulong)Accessible.Length == Length;

    public static implicit operator UserSpan(Span<byte> bytes) => new(bytes);

    public static implicit operator UserSpan(byte[] bytes) => new(bytes);

    /// <summary>Resolves a user pointer against <paramref name="memory"/>.</summary>
    public static UserSpan Resolve(UserMemory memory, ulong address, ulong length)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (address == 0)
        {
            return new UserSpan(default, length, isNull: true);
        }

        return new UserSpan(memory.GetAccessiblePrefix(address, length), length, isNull: false);
    }
}
