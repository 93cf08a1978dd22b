using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Iommufd.Core.Driver;

/// <summary>
/// The array of invalidation requests of one <c>IOMMU_HWPT_INVALIDATE</c>, as the core hands it to a driver:
/// it still points at the caller's bytes; the driver makes the one copy it needs.
/// </summary>
/// <remarks>
/// <see cref="EntryNum"/> comes in as the caller's count and goes back to the caller as whatever the driver
/// leaves in it, on success and on error (hw_pagetable.c iommufd_hwpt_invalidate()). A driver sets it to the number of
/// entries it handled.
/// </remarks>
public ref struct InvalidationArray
{
    private readonly ReadOnlySpan<byte> _accessible;
    private readonly ulong _length;

    /// <summary>An array of <paramref name="entryNum"/> entries of <paramref name="entryLength"/> bytes.</summary>
    public InvalidationArray(uint type, uint entryLength, uint entryNum, ReadOnlySpan<byte> entries)
        : this(type, entryLength, entryNum, entries, (ulong)entries.Length)
    {
    }

    internal InvalidationArray(uint type, uint entryLength, uint entryNum, ReadOnlySpan<byte> accessible, ulong length)
    {
        Type = type;
        EntryLength = entryLength;
        EntryNum = entryNum;
        _accessible = accessible;
        _length = length;
    }

    /// <summary><c>data_type</c>: one type for every entry.</summary>
    public uint Type { get; }

    /// <summary><c>entry_len</c>.</summary>
    public uint EntryLength { get; }

    /// <summary>In: the number of entries. Out: the number of entries the driver handled.</summary>
    public uint EntryNum { get; set; }

    /// <summary>The caller's bytes when every entry is accessible and exactly the kernel size; else empty.</summary>
    public readonly ReadOnlySpan<byte> RawEntries =>
        (ulong)_accessible.Length == _length ? _accessible : default;

    /// <summary>
    /// Copies entry <paramref name="index"/> (the kernel's <c>iommu_copy_struct_from_user_array</c>): a wrong type,
    /// an entry length below <paramref name="minLength"/> or above the struct's size is EINVAL; a shorter entry
    /// is zero-filled; an inaccessible entry is EFAULT.
    /// </summary>
    public readonly Errno CopyEntry<T>(uint expectedType, uint index, int minLength, out T entry)
        where T : unmanaged
    {
        entry = default;
        if (Type != expectedType || EntryLength < (uint)minLength || EntryLength > (uint)Unsafe.SizeOf<T>())
        {
            return Errno.EINVAL;
        }

        ulong start = (ulong)index * EntryLength;
        if (start + EntryLength > (ulong)_accessible.Length)
        {
            return Errno.EFAULT;
        }

        _accessible.Slice((int)start, (int)EntryLength).CopyTo(MemoryMarshal.AsBytes(new Span<T>(ref entry)));
        return Errno.Success;
    }

    /// <summary>
    /// Copies the whole array into <paramref name="destination"/> (the kernel's
    /// <c>iommu_copy_struct_from_full_user_array</c>): a wrong type or an empty array is EINVAL; shorter entries
    /// are zero-filled; longer entries must have a zero tail, else E2BIG; an inaccessible byte is EFAULT.
    /// <paramref name="destination"/> must hold <see cref="EntryNum"/> entries.
    /// </summary>
    public readonly Errno CopyAll<T>(uint expectedType, Span<T> destination)
        where T : unmanaged
    {
        if (Type != expectedType || EntryNum == 0)
        {
            return Errno.EINVAL;
        }

        if (destination.Length < EntryNum)
        {
            throw new ArgumentException("the destination must hold every entry", nameof(destination));
        }

        int size = Unsafe.SizeOf<T>();
        ulong total = (ulong)EntryLength * EntryNum;
        if ((ulong)_accessible.Length < total)
        {
            return Errno.EFAULT;
        }

        var dest = MemoryMarshal.AsBytes(destination[..(int)EntryNum]);
        if (EntryLength == size)
        {
            _accessible[..(int)total].CopyTo(dest);
            return Errno.Success;
        }

        int copy = (int)Math.Min(EntryLength, (uint)size);
        for (int i = 0; i < EntryNum; i++)
        {
            var src = _accessible.Slice(i * (int)EntryLength, (int)EntryLength);
            var dst = dest.Slice(i * size, size);
            src[..copy].CopyTo(dst);
            dst[copy..].Clear();
            if (src[copy..].ContainsAnyExcept((byte)0))
            {
                return Errno.E2BIG;
            }
        }

        return Errno.Success;
    }
}
