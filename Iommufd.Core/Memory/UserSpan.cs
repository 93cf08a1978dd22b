namespace Iommufd.Core.Memory;

/// <summary>
/// A user pointer and length as the kernel sees them before it copies: the bytes that are accessible from the
/// start of the range (possibly fewer than asked for) and whether the pointer was NULL. Copy helpers turn a
/// short prefix into EFAULT at the moment the kernel's <c>copy_from_user</c> would fault. Output written into
/// <see cref="Accessible"/> reaches the caller through <see cref="Commit"/> (the kernel's <c>copy_to_user</c>).
/// </summary>
public readonly ref struct UserSpan
{
    /// <summary>A fully accessible range: what the typed API passes.</summary>
    public UserSpan(Span<byte> bytes)
    {
        Accessible = bytes;
        Length = (ulong)bytes.Length;
    }

    private readonly UserMemory? _memory;
    private readonly ulong _address;

    internal UserSpan(Span<byte> accessible, ulong length, bool isNull, UserMemory? memory = null, ulong address = 0)
    {
        Accessible = accessible;
        Length = length;
        IsNull = isNull;
        _memory = memory;
        _address = address;
    }

    /// <summary>The accessible prefix of the range.</summary>
    public Span<byte> Accessible { get; }

    /// <summary>The length the caller named.</summary>
    public ulong Length { get; }

    /// <summary>True for a NULL user pointer.</summary>
    public bool IsNull { get; }

    /// <summary>True when every byte of the range can be accessed.</summary>
    public bool IsFullyAccessible => (ulong)Accessible.Length == Length;

    /// <summary>
    /// A fully accessible range over <paramref name="bytes"/> (for C# callers that pass managed buffers).
    /// </summary>
    public static implicit operator UserSpan(Span<byte> bytes) => new(bytes);

    /// <summary>A fully accessible range over the whole array.</summary>
    public static implicit operator UserSpan(byte[] bytes) => new(bytes);

    /// <summary>Resolves a user pointer against <paramref name="memory"/>.</summary>
    public static UserSpan Resolve(UserMemory memory, ulong address, ulong length)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (address == 0)
        {
            return new UserSpan(default, length, isNull: true);
        }

        return new UserSpan(memory.GetAccessiblePrefix(address, length), length, isNull: false, memory, address);
    }

    /// <summary>
    /// Makes the first <paramref name="count"/> bytes written into <see cref="Accessible"/> the caller's: for the
    /// calling process a copy_to_user (false, EFAULT, when a page is not writable); otherwise the bytes already are.
    /// </summary>
    public bool Commit(int count) => _memory is null || _memory.CopyBack(_address, Accessible[..count]);
}
