using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Support;

/// <summary>Raw ioctl helpers: a struct goes in as bytes, with its <c>size</c> set to the kernel size.</summary>
internal static class Raw
{
    /// <summary>Calls <paramref name="request"/> with <paramref name="cmd"/> (its first u32 set to its size).</summary>
    public static Errno Ioctl<T>(this IommufdFile file, uint request, ref T cmd)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(new Span<T>(ref cmd));
        MemoryMarshal.Write(bytes, (uint)Unsafe.SizeOf<T>());
        return file.Ioctl(request, bytes);
    }

    /// <summary>IOMMU_IOAS_UNMAP through the raw entry point.</summary>
    public static Errno RawUnmap(this IommufdFile file, uint ioasId, ulong iova, ulong length)
    {
        var cmd = new IommuIoasUnmap { IoasId = ioasId, Iova = iova, Length = length };
        return file.Ioctl(IommufdIoctl.IOMMU_IOAS_UNMAP, ref cmd);
    }

    /// <summary>IOMMU_DESTROY through the raw entry point.</summary>
    public static Errno RawDestroy(this IommufdFile file, uint id)
    {
        var cmd = new IommuDestroy { Id = id };
        return file.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref cmd);
    }

    /// <summary>The bytes of a struct, for tests that edit sizes and tails by hand.</summary>
    public static byte[] Bytes<T>(in T value)
        where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();
}
