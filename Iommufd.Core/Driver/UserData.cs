using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Driver;

/// <summary>
/// A driver-specific data blob passed through <c>data_type</c>/<c>data_len</c>/<c>data_uptr</c> (HWPT_ALLOC,
/// VIOMMU_ALLOC). Its copy rules differ from the ioctl structs' size rule: see include/linux/iommu.h
/// __iommu_copy_struct_from_user().
/// </summary>
public readonly ref struct UserData
{
    /// <summary>Wraps the caller's <c>data_type</c> and the bytes at <c>data_uptr</c>, <c>data_len</c> long.</summary>
    public UserData(uint type, UserSpan buffer)
    {
        Type = type;
        Buffer = buffer;
    }

    /// <summary>The data type the caller named (for example <c>IOMMU_HWPT_DATA_ARM_SMMUV3</c>).</summary>
    public uint Type { get; }

    /// <summary>The caller's bytes.</summary>
    public UserSpan Buffer { get; }

    /// <summary><c>data_len</c>.</summary>
    public ulong Length => Buffer.Length;

    /// <summary>True when the caller passed no data (<c>data_len == 0</c>).</summary>
    public bool IsEmpty => Buffer.Length == 0;

    /// <summary>
    /// Copies the blob into <paramref name="value"/>, as the kernel's <c>iommu_copy_struct_from_user</c> does: a
    /// wrong type, a length below <paramref name="minLength"/> or above the struct's size is EINVAL; a shorter
    /// blob is zero-filled; an inaccessible one is EFAULT.
    /// </summary>
    public Errno CopyFrom<T>(uint expectedType, int minLength, out T value)
        where T : unmanaged
    {
        value = default;
        if (Type != expectedType || Length < (ulong)minLength || Length > (ulong)Unsafe.SizeOf<T>())
        {
            return Errno.EINVAL;
        }

        if (Buffer.IsNull || !Buffer.IsFullyAccessible)
        {
            return Errno.EFAULT;
        }

        Buffer.Accessible.CopyTo(MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return Errno.Success;
    }

    /// <summary>
    /// Copies driver output back, at most <c>data_len</c> bytes (the kernel's <c>iommu_copy_struct_to_user</c>).
    /// </summary>
    public Errno CopyTo<T>(in T value)
        where T : unmanaged
    {
        if (Buffer.IsNull || !Buffer.IsFullyAccessible)
        {
            return Errno.EFAULT;
        }

        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value));
        int n = (int)Math.Min((ulong)bytes.Length, Length);
        bytes[..n].CopyTo(Buffer.Accessible);
        return Buffer.Commit(n) ? Errno.Success : Errno.EFAULT;
    }
}
