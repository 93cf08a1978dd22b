using System.Runtime.InteropServices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// The IOAS commands (drivers/iommu/iommufd/ioas.c): ALLOC, MAP, MAP_FILE, UNMAP, COPY, IOVA_RANGES, ALLOW_IOVAS,
/// CHANGE_PROCESS and IOMMU_OPTION. What an IOAS does with them (the kernel's io_pagetable) is <see cref="IoasObject"/>.
/// </summary>
public static class IoasCommands
{
    private const IommuIoasMapFlags KnownMapFlags =
        IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Writeable | IommuIoasMapFlags.Readable;

    /// <summary>IOMMU_IOAS_ALLOC: a new, empty IOAS.</summary>
    public static Errno IoasAlloc(this IommufdFile file, out uint ioasId)
    {
        ioasId = 0;
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if (file.AllocationFails())
        {
            return call.Done(Errno.ENOMEM);
        }

        ioasId = file.Objects.Add(new IoasObject(file.Memory, file.Faults, file.Metrics, accountMm: Volatile.Read(ref file.AccountModeMm) == 1));
        return call.Done(Errno.Success);
    }

    /// <summary>
    /// IOMMU_IOAS_MAP: maps [<paramref name="userVa"/>, +<paramref name="length"/>) of user memory. With
    /// <see cref="IommuIoasMapFlags.FixedIova"/> at <paramref name="iova"/>, else at an IOVA the IOAS picks. Checks
    /// in the order of ioas.c iommufd_ioas_map(): flags, U64_MAX values (EOVERFLOW), no access (EINVAL), the IOAS.
    /// </summary>
    public static Errno IoasMap(this IommufdFile file, uint ioasId, ulong userVa, ulong length, IommuIoasMapFlags flags, ref ulong iova)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.GetIoasToMap(ioasId, flags, iova, length, out var ioas);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (ioas)
        {
            return call.Done(ioas.Object.Map(userVa, length, ToProtection(flags), (flags & IommuIoasMapFlags.FixedIova) != 0, ref iova));
        }
    }

    /// <summary>The checks IOAS_MAP and IOAS_MAP_FILE share, in ioas.c's order: the map arguments, then the IOAS.</summary>
    private static Errno GetIoasToMap(this IommufdFile file, uint ioasId, IommuIoasMapFlags flags, ulong iova, ulong length, out ObjectRef<IoasObject> ioas)
    {
        var rc = CheckMapArguments(flags, iova, length);
        if (rc != Errno.Success)
        {
            ioas = default;
            return rc;
        }

        return file.Objects.Get(ioasId, out ioas);
    }

    /// <summary>
    /// IOMMU_IOAS_MAP_FILE: maps [<paramref name="start"/>, +<paramref name="length"/>) of the memory file open on
    /// <paramref name="fd"/> in the caller's process (<see cref="UserMemory.CreateMemfd"/>; in the calling process a
    /// real memfd), at a fixed or an allocated
    /// IOVA as <see cref="IoasMap"/> does. Checks in the order of ioas.c iommufd_ioas_map_file(): the map checks, the
    /// IOAS; then io_pagetable.c iopt_map_file_pages(): length 0 (EINVAL), a range that wraps (EOVERFLOW), the fd (EBADF).
    /// </summary>
    public static Errno IoasMapFile(this IommufdFile file, uint ioasId, int fd, ulong start, ulong length, IommuIoasMapFlags flags, ref ulong iova)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.GetIoasToMap(ioasId, flags, iova, length, out var ioas);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (ioas)
        {
            if (length == 0)
            {
                return call.Done(Refusal.Because(Errno.EINVAL, $"length 0"));
            }

            if (start + (length - 1) < start)
            {
                return call.Done(Refusal.Because(Errno.EOVERFLOW, $"start 0x{start:x} + length 0x{length:x} wraps"));
            }

            if (!file.Memory.TryGetFile(fd, out var memfd))
            {
                return call.Done(Refusal.Because(Errno.EBADF, $"fd {fd} is not an open file of the process"));
            }

            rc = ioas.Object.MapFile(memfd, start, length, ToProtection(flags), (flags & IommuIoasMapFlags.FixedIova) != 0, ref iova);
            memfd.Release(); // fput(): a mapping holds its own reference
            return call.Done(rc);
        }
    }

    /// <summary>
    /// IOMMU_IOAS_UNMAP: unmaps every mapping inside the range and returns the bytes unmapped in
    /// <paramref name="length"/>. (0, <see cref="ulong.MaxValue"/>) unmaps everything.
    /// </summary>
    public static Errno IoasUnmap(this IommufdFile file, uint ioasId, ulong iova, ref ulong length)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = file.Objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (ioas)
        {
            // ioas.c iommufd_ioas_unmap(), then io_pagetable.c iopt_unmap_iova(): the IOAS first, then the range.
            ulong last = ulong.MaxValue;
            bool all = iova == 0 && length == ulong.MaxValue;
            if (!all)
            {
                if (iova == ulong.MaxValue || length == ulong.MaxValue)
                {
                    return call.Done(Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} or length 0x{length:x} is U64_MAX"));
                }

                if (length == 0)
                {
                    return call.Done(Refusal.Because(Errno.EINVAL, $"length 0"));
                }

                last = iova + (length - 1);
                if (last < iova)
                {
                    return call.Done(Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} + length 0x{length:x} wraps"));
                }
            }

            rc = ioas.Object.Unmap(iova, last, out ulong unmapped);
            if (rc == Errno.Success && unmapped == 0 && !all)
            {
                rc = Errno.ENOENT; // a range with nothing in it; the all-of-it form succeeds on an empty IOAS
            }

            if (rc == Errno.Success)
            {
                length = unmapped;
            }

            return call.Done(rc);
        }
    }

    /// <summary>IOMMU_IOAS_COPY: maps the pages behind a source range into another (or the same) IOAS.</summary>
    public static Errno IoasCopy(this IommufdFile file, uint dstIoasId, uint srcIoasId, ulong length, ulong srcIova, IommuIoasMapFlags flags, ref ulong dstIova)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        // ioas.c iommufd_ioas_copy(): flags, U64_MAX values, no access, then the source's pages, then the destination.
        var rc = CheckMapArguments(flags, Math.Max(srcIova, dstIova), length); // either IOVA at U64_MAX is EOVERFLOW

        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        rc = file.Objects.Get<IoasObject>(srcIoasId, out var src);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        List<IovaArea> pages;
        using (src)
        {
            rc = src.Object.GetPages(srcIova, length, out pages);
            if (rc != Errno.Success)
            {
                return call.Done(rc);
            }
        }

        rc = file.Objects.Get<IoasObject>(dstIoasId, out var dst);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        using (dst)
        {
            return call.Done(dst.Object.MapPages(pages, length, ToProtection(flags), (flags & IommuIoasMapFlags.FixedIova) != 0, ref dstIova));
        }
    }

    /// <summary>
    /// IOMMU_IOAS_IOVA_RANGES: writes the usable IOVA ranges into <paramref name="ranges"/> as far as it reaches and
    /// sets <paramref name="numIovas"/> to how many there are; EMSGSIZE when that is more than it holds.
    /// </summary>
    public static Errno IoasIovaRanges(this IommufdFile file, uint ioasId, Span<IommuIovaRange> ranges, out uint numIovas, out ulong iovaAlignment)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            numIovas = 0;
            iovaAlignment = 0;
            return call.Done(Errno.EBADF);
        }

        return call.Done(file.IovaRanges(ioasId, ranges, (uint)ranges.Length, out numIovas, out iovaAlignment, out _));
    }

    /// <summary>IOMMU_IOAS_ALLOW_IOVAS: replaces the IOAS's allowed IOVA ranges (empty = none, the allocator may use anything).</summary>
    public static Errno IoasAllowIovas(this IommufdFile file, uint ioasId, ReadOnlySpan<IommuIovaRange> ranges)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        return call.Done(file.AllowIovas(ioasId, ranges, (uint)ranges.Length));
    }

    /// <summary>
    /// IOMMU_IOAS_CHANGE_PROCESS (ioas.c iommufd_ioas_change_process()): only file-backed mappings can move to the
    /// calling process (EINVAL for one of user memory). A file's process here is the one that opened it, so there is
    /// nothing to move and the pinned pages stay charged where they are.
    /// </summary>
    public static Errno IoasChangeProcess(this IommufdFile file)
    {
        using var call = file.EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        return call.Done(file.Objects.Snapshot<IoasObject>().Exists(ioas => ioas.MapsUserMemory)
            ? Refusal.Because(Errno.EINVAL, $"an IOAS maps user memory, which cannot change process")
            : Errno.Success);
    }

    internal static Errno RawIoasAlloc(this IommufdFile file, ref IommuIoasAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var rc = file.IoasAlloc(out cmd.OutIoasId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawIoasMap(this IommufdFile file, ref IommuIoasMap cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        var rc = file.IoasMap(cmd.IoasId, cmd.UserVa, cmd.Length, (IommuIoasMapFlags)cmd.Flags, ref cmd.Iova);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawIoasUnmap(this IommufdFile file, ref IommuIoasUnmap cmd, ref bool respond)
    {
        var rc = file.IoasUnmap(cmd.IoasId, cmd.Iova, ref cmd.Length);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawIoasCopy(this IommufdFile file, ref IommuIoasCopy cmd, ref bool respond)
    {
        var rc = file.IoasCopy(cmd.DstIoasId, cmd.SrcIoasId, cmd.Length, cmd.SrcIova, (IommuIoasMapFlags)cmd.Flags, ref cmd.DstIova);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawIoasIovaRanges(this IommufdFile file, ref IommuIoasIovaRanges cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        int size = Marshal.SizeOf<IommuIovaRange>();
        var user = UserSpan.Resolve(file.Memory, cmd.AllowedIovas, (ulong)cmd.NumIovas * (ulong)size);
        var buffer = MemoryMarshal.Cast<byte, IommuIovaRange>(user.Accessible);
        var rc = file.IovaRanges(cmd.IoasId, buffer, cmd.NumIovas, out uint num, out ulong alignment, out int written);
        if (written > 0 && !user.Commit(written * size))
        {
            rc = Errno.EFAULT;
        }

        if (rc is Errno.Success or Errno.EMSGSIZE)
        {
            cmd.NumIovas = num;
            cmd.OutIovaAlignment = alignment;
            respond = true;
        }

        return rc;
    }

    internal static Errno RawIoasAllowIovas(this IommufdFile file, ref IommuIoasAllowIovas cmd)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        var user = UserSpan.Resolve(file.Memory, cmd.AllowedIovas, (ulong)cmd.NumIovas * (ulong)Marshal.SizeOf<IommuIovaRange>());
        return file.AllowIovas(cmd.IoasId, MemoryMarshal.Cast<byte, IommuIovaRange>(user.Accessible), cmd.NumIovas);
    }

    /// <summary>
    /// ioas.c iommufd_ioas_iova_ranges(): the IOAS, then the ranges one by one into <paramref name="buffer"/> while
    /// fewer than <paramref name="max"/> are written (one past the buffer is EFAULT), then EMSGSIZE when there are
    /// more than <paramref name="max"/>.
    /// </summary>
    private static Errno IovaRanges(this IommufdFile file, uint ioasId, Span<IommuIovaRange> buffer, uint max, out uint num, out ulong alignment, out int written)
    {
        num = 0;
        alignment = 0;
        written = 0;
        var rc = file.Objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            var usable = ioas.Object.GetUsableRanges();
            alignment = ioas.Object.IovaAlignment;
            num = (uint)usable.Count;
            written = (int)Math.Min(Math.Min(num, max), (uint)buffer.Length);
            CollectionsMarshal.AsSpan(usable)[..written].CopyTo(buffer);
            return written < Math.Min(num, max) ? Errno.EFAULT : num > max ? Errno.EMSGSIZE : Errno.Success;
        }
    }

    /// <summary>ioas.c iommufd_ioas_allow_iovas(): the IOAS first, then the ranges are loaded (see <see cref="IoasObject.SetAllowedRanges"/>).</summary>
    private static Errno AllowIovas(this IommufdFile file, uint ioasId, ReadOnlySpan<IommuIovaRange> ranges, uint count)
    {
        var rc = file.Objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            return ioas.Object.SetAllowedRanges(ranges, count);
        }
    }

    /// <summary>
    /// IOMMU_OPTION (main.c iommufd_option()): the option picks the handler before the op is looked at.
    /// RLIMIT_MODE (ioas.c iommufd_option_rlimit_mode()) is file-wide: an object ID is EOPNOTSUPP, and SET is EBUSY
    /// once the file holds any object. HUGE_PAGES (ioas.c iommufd_ioas_option()) needs the IOAS before the op.
    /// </summary>
    internal static Errno RawOption(this IommufdFile file, ref IommuOption cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        Errno rc;
        switch ((IommuOptionId)cmd.OptionId)
        {
            case IommuOptionId.RlimitMode:
                rc = file.RlimitModeOption(ref cmd);
                break;
            case IommuOptionId.HugePages:
                rc = file.Objects.Get<IoasObject>(cmd.ObjectId, out var ioas);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                using (ioas)
                {
                    rc = (IommuOptionOp)cmd.Op switch
                    {
                        IommuOptionOp.Get => Errno.Success,
                        IommuOptionOp.Set when cmd.Val64 <= 1 => ioas.Object.SetHugePages(cmd.Val64 == 1),
                        IommuOptionOp.Set => Refusal.Because(Errno.EINVAL, $"HUGE_PAGES val64 {cmd.Val64} is neither 0 nor 1"),
                        _ => Refusal.Because(Errno.EOPNOTSUPP, $"op {cmd.Op} is neither GET nor SET"),
                    };
                    cmd.Val64 = (IommuOptionOp)cmd.Op == IommuOptionOp.Get ? (ioas.Object.HugePages ? 1UL : 0) : cmd.Val64;
                }

                break;
            default:
                return Refusal.Because(Errno.EOPNOTSUPP, $"option_id {cmd.OptionId} is not an option");
        }

        respond = rc == Errno.Success; // only val64 changes
        return rc;
    }

    private static Errno RlimitModeOption(this IommufdFile file, ref IommuOption cmd)
    {
        if (cmd.ObjectId != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"RLIMIT_MODE is file-wide: object_id {cmd.ObjectId} is not 0");
        }

        switch ((IommuOptionOp)cmd.Op)
        {
            case IommuOptionOp.Get:
                cmd.Val64 = (ulong)Volatile.Read(ref file.AccountModeMm);
                return Errno.Success;
            case IommuOptionOp.Set:
                if (!file.Memory.CapSysResource)
                {
                    return Refusal.Because(Errno.EPERM, $"RLIMIT_MODE SET needs CAP_SYS_RESOURCE, which the process lacks");
                }

                if (file.Objects.Count > 0)
                {
                    return Refusal.Because(Errno.EBUSY, $"RLIMIT_MODE is set only before the file holds an object ({file.Objects.Count} now)");
                }

                if (cmd.Val64 > 1)
                {
                    return Refusal.Because(Errno.EINVAL, $"RLIMIT_MODE val64 {cmd.Val64} is neither 0 nor 1");
                }

                Volatile.Write(ref file.AccountModeMm, (int)cmd.Val64);
                return Errno.Success;
            default:
                return Refusal.Because(Errno.EOPNOTSUPP, $"op {cmd.Op} is neither GET nor SET");
        }
    }

    internal static Errno RawIoasMapFile(this IommufdFile file, ref IommuIoasMapFile cmd, ref bool respond)
    {
        var rc = file.IoasMapFile(cmd.IoasId, cmd.Fd, cmd.Start, cmd.Length, (IommuIoasMapFlags)cmd.Flags, ref cmd.Iova);
        respond = rc == Errno.Success;
        return rc;
    }

    internal static Errno RawIoasChangeProcess(this IommufdFile file, ref IommuIoasChangeProcess cmd) =>
        cmd.Reserved != 0 ? Errno.EOPNOTSUPP : file.IoasChangeProcess();

    /// <summary>
    /// The checks IOAS_MAP, MAP_FILE and COPY make before any lookup (ioas.c iommufd_ioas_map()): unknown flags
    /// (EOPNOTSUPP), an IOVA or length of U64_MAX (EOVERFLOW), neither READABLE nor WRITEABLE (EINVAL).
    /// </summary>
    private static Errno CheckMapArguments(IommuIoasMapFlags flags, ulong iova, ulong length) =>
        (flags & ~KnownMapFlags) != 0 ? Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{(uint)flags:x} has unknown bits 0x{(uint)(flags & ~KnownMapFlags):x}")
        : iova == ulong.MaxValue || length == ulong.MaxValue ? Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} or length 0x{length:x} is U64_MAX")
        : (flags & (IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable)) == 0 ? Refusal.Because(Errno.EINVAL, $"flags 0x{(uint)flags:x} give neither READABLE nor WRITEABLE")
        : Errno.Success;

    private static IommuProtection ToProtection(IommuIoasMapFlags flags) =>
        ((flags & IommuIoasMapFlags.Readable) != 0 ? IommuProtection.Read : 0)
        | ((flags & IommuIoasMapFlags.Writeable) != 0 ? IommuProtection.Write : 0);
}
