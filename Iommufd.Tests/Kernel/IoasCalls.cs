using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// The IOAS ioctls of tools/testing/selftests/iommu/iommufd_utils.h (test_ioctl_ioas_map, _unmap, ...) through the raw
/// entry point of a <see cref="MockFixture"/>, each returning the errno and what the kernel wrote back.
/// </summary>
internal static class IoasCalls
{
    public const IommuIoasMapFlags Rw = IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable;

    public static Errno MapAt(this MockFixture fx, uint ioas, ulong userVa, ulong length, ulong iova, IommuIoasMapFlags access = Rw)
    {
        var cmd = new IommuIoasMap { IoasId = ioas, UserVa = userVa, Length = length, Iova = iova, Flags = (uint)(access | IommuIoasMapFlags.FixedIova) };
        return fx.Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
    }

    public static Errno MapAuto(this MockFixture fx, uint ioas, ulong userVa, ulong length, out ulong iova, IommuIoasMapFlags access = Rw)
    {
        var cmd = new IommuIoasMap { IoasId = ioas, UserVa = userVa, Length = length, Flags = (uint)access };
        var rc = fx.Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
        iova = cmd.Iova;
        return rc;
    }

    /// <summary>IOMMU_IOAS_MAP_FILE of [start, +length) of the file on <paramref name="fd"/>; the IOVA goes in and comes back.</summary>
    public static Errno MapFile(this MockFixture fx, uint ioas, int fd, ulong start, ulong length, ref ulong iova, IommuIoasMapFlags flags = Rw | IommuIoasMapFlags.FixedIova)
    {
        var cmd = new IommuIoasMapFile { IoasId = ioas, Fd = fd, Start = start, Length = length, Iova = iova, Flags = (uint)flags };
        var rc = fx.Raw(IommufdIoctl.IOMMU_IOAS_MAP_FILE, ref cmd);
        iova = cmd.Iova;
        return rc;
    }

    /// <summary>IOMMU_IOAS_MAP_FILE at a fixed IOVA.</summary>
    public static Errno MapFileAt(this MockFixture fx, uint ioas, int fd, ulong start, ulong length, ulong iova, IommuIoasMapFlags access = Rw) =>
        fx.MapFile(ioas, fd, start, length, ref iova, access | IommuIoasMapFlags.FixedIova);

    public static Errno UnmapRange(this MockFixture fx, uint ioas, ulong iova, ulong length, out ulong unmapped)
    {
        var cmd = new IommuIoasUnmap { IoasId = ioas, Iova = iova, Length = length };
        var rc = fx.Raw(IommufdIoctl.IOMMU_IOAS_UNMAP, ref cmd);
        unmapped = cmd.Length;
        return rc;
    }

    public static Errno Copy(this MockFixture fx, uint dst, uint src, ulong srcIova, ulong length, ulong dstIova, IommuIoasMapFlags flags = Rw | IommuIoasMapFlags.FixedIova)
    {
        var cmd = new IommuIoasCopy { DstIoasId = dst, SrcIoasId = src, SrcIova = srcIova, Length = length, DstIova = dstIova, Flags = (uint)flags };
        return fx.Raw(IommufdIoctl.IOMMU_IOAS_COPY, ref cmd);
    }

    /// <summary>IOMMU_IOAS_IOVA_RANGES into a fresh array of <paramref name="capacity"/> zeroed entries.</summary>
    public static (Errno Rc, uint NumIovas, ulong Alignment, IommuIovaRange[] Ranges) IovaRanges(this MockFixture fx, uint ioas, uint capacity)
    {
        var zero = new IommuIovaRange[Math.Max(capacity, 1)];
        ulong array = fx.Put<IommuIovaRange>(zero);
        var cmd = new IommuIoasIovaRanges { IoasId = ioas, NumIovas = capacity, AllowedIovas = array };
        var rc = fx.Raw(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref cmd);
        var ranges = Enumerable.Range(0, zero.Length)
            .Select(i => fx.Get<IommuIovaRange>(array + (ulong)(i * Marshal.SizeOf<IommuIovaRange>()))).ToArray();
        return (rc, cmd.NumIovas, cmd.OutIovaAlignment, ranges);
    }

    public static Errno AllowIovas(this MockFixture fx, uint ioas, params IommuIovaRange[] ranges)
    {
        var cmd = new IommuIoasAllowIovas { IoasId = ioas, NumIovas = (uint)ranges.Length, AllowedIovas = ranges.Length == 0 ? 0 : fx.Put<IommuIovaRange>(ranges) };
        return fx.Raw(IommufdIoctl.IOMMU_IOAS_ALLOW_IOVAS, ref cmd);
    }

    public static IommuIovaRange Range(ulong start, ulong last) => new() { Start = start, Last = last };

    /// <summary>IOMMU_OPTION; <paramref name="val64"/> goes in and comes back as the kernel wrote it.</summary>
    public static Errno Option(this IommufdFile file, IommuOptionId option, IommuOptionOp op, uint objectId, ref ulong val64)
    {
        var cmd = new IommuOption { OptionId = (uint)option, Op = (ushort)op, ObjectId = objectId, Val64 = val64 };
        var rc = file.Ioctl(IommufdIoctl.IOMMU_OPTION, ref cmd);
        val64 = cmd.Val64;
        return rc;
    }
}
