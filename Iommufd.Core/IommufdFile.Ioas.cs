using System.Runtime.InteropServices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

// IOAS commands: ALLOC, MAP, UNMAP, COPY, IOVA_RANGES, ALLOW_IOVAS, OPTION, VFIO_IOAS, MAP_FILE, CHANGE_PROCESS.
public sealed partial class IommufdFile
{
    private const IommuIoasMapFlags KnownMapFlags =
        IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Writeable | IommuIoasMapFlags.Readable;

    // IOMMU_VFIO_IOAS: the compat IOAS itself, not its ID, since a destroyed IOAS's ID is handed out again and the
    // kernel forgets the compat IOAS when it is destroyed (main.c iommufd_object_remove()).
    private IoasObject? _vfioCompatIoas;
    private int _accountModeMm; // IOMMU_OPTION_RLIMIT_MODE: 0 per user (IOPT_PAGES_ACCOUNT_USER), 1 per mm

    /// <summary>IOMMU_IOAS_ALLOC: a new, empty IOAS.</summary>
    public Errno IoasAlloc(out uint ioasId)
    {
        ioasId = 0;
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if (AllocationFails())
        {
            return Errno.ENOMEM;
        }

        ioasId = _objects.Add(new IoasObject(Memory, _faults, _metrics));
        return Errno.Success;
    }

    /// <summary>
    /// IOMMU_IOAS_MAP: maps [<paramref name="userVa"/>, +<paramref name="length"/>) of user memory. With
    /// <see cref="IommuIoasMapFlags.FixedIova"/> at <paramref name="iova"/>, else at an IOVA the IOAS picks. Checks
    /// in the order of ioas.c iommufd_ioas_map(): flags, U64_MAX values (EOVERFLOW), no access (EINVAL), the IOAS.
    /// </summary>
    public Errno IoasMap(uint ioasId, ulong userVa, ulong length, IommuIoasMapFlags flags, ref ulong iova)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = CheckMapArguments(flags, iova, length);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = _objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            return ioas.Object.Map(userVa, length, ToProtection(flags), (flags & IommuIoasMapFlags.FixedIova) != 0, ref iova);
        }
    }

    /// <summary>
    /// IOMMU_IOAS_UNMAP: unmaps every mapping inside the range and returns the bytes unmapped in
    /// <paramref name="length"/>. (0, <see cref="ulong.MaxValue"/>) unmaps everything.
    /// </summary>
    public Errno IoasUnmap(uint ioasId, ulong iova, ref ulong length)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        var rc = _objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
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
                    return Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} or length 0x{length:x} is U64_MAX");
                }

                if (length == 0)
                {
                    return Refusal.Because(Errno.EINVAL, $"length 0");
                }

                last = iova + (length - 1);
                if (last < iova)
                {
                    return Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} + length 0x{length:x} wraps");
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

            return rc;
        }
    }

    /// <summary>IOMMU_IOAS_COPY: maps the pages behind a source range into another (or the same) IOAS.</summary>
    public Errno IoasCopy(uint dstIoasId, uint srcIoasId, ulong length, ulong srcIova, IommuIoasMapFlags flags, ref ulong dstIova)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        // ioas.c iommufd_ioas_copy(): flags, U64_MAX values, no access, then the source's pages, then the destination.
        var rc = CheckMapArguments(flags, Math.Max(srcIova, dstIova), length); // either IOVA at U64_MAX is EOVERFLOW

        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = _objects.Get<IoasObject>(srcIoasId, out var src);
        if (rc != Errno.Success)
        {
            return rc;
        }

        List<IovaArea> pages;
        using (src)
        {
            rc = src.Object.GetPages(srcIova, length, out pages);
            if (rc != Errno.Success)
            {
                return rc;
            }
        }

        rc = _objects.Get<IoasObject>(dstIoasId, out var dst);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (dst)
        {
            return dst.Object.MapPages(pages, length, ToProtection(flags), (flags & IommuIoasMapFlags.FixedIova) != 0, ref dstIova);
        }
    }

    /// <summary>
    /// IOMMU_IOAS_IOVA_RANGES: writes the usable IOVA ranges into <paramref name="ranges"/> as far as it reaches and
    /// sets <paramref name="numIovas"/> to how many there are; EMSGSIZE when that is more than it holds.
    /// </summary>
    public Errno IoasIovaRanges(uint ioasId, Span<IommuIovaRange> ranges, out uint numIovas, out ulong iovaAlignment)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            numIovas = 0;
            iovaAlignment = 0;
            return Errno.EBADF;
        }

        return IovaRanges(ioasId, ranges, (uint)ranges.Length, out numIovas, out iovaAlignment, out _);
    }

    /// <summary>IOMMU_IOAS_ALLOW_IOVAS: replaces the IOAS's allowed IOVA ranges (empty = none, the allocator may use anything).</summary>
    public Errno IoasAllowIovas(uint ioasId, ReadOnlySpan<IommuIovaRange> ranges)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        return AllowIovas(ioasId, ranges, (uint)ranges.Length);
    }

    /// <summary>IOMMU_IOAS_CHANGE_PROCESS: only file-backed mappings can move, and this emulation has none.</summary>
    public Errno IoasChangeProcess()
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        return HasAnyMapping() ? Errno.EINVAL : Errno.Success;
    }

    internal Errno RawIoasAlloc(ref IommuIoasAlloc cmd, ref bool respond)
    {
        if (cmd.Flags != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"flags 0x{cmd.Flags:x} is not 0");
        }

        var rc = IoasAlloc(out cmd.OutIoasId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawIoasMap(ref IommuIoasMap cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        var rc = IoasMap(cmd.IoasId, cmd.UserVa, cmd.Length, (IommuIoasMapFlags)cmd.Flags, ref cmd.Iova);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawIoasUnmap(ref IommuIoasUnmap cmd, ref bool respond)
    {
        var rc = IoasUnmap(cmd.IoasId, cmd.Iova, ref cmd.Length);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawIoasCopy(ref IommuIoasCopy cmd, ref bool respond)
    {
        var rc = IoasCopy(cmd.DstIoasId, cmd.SrcIoasId, cmd.Length, cmd.SrcIova, (IommuIoasMapFlags)cmd.Flags, ref cmd.DstIova);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawIoasIovaRanges(ref IommuIoasIovaRanges cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        int size = Marshal.SizeOf<IommuIovaRange>();
        var user = UserSpan.Resolve(Memory, cmd.AllowedIovas, (ulong)cmd.NumIovas * (ulong)size);
        var buffer = MemoryMarshal.Cast<byte, IommuIovaRange>(user.Accessible);
        var rc = IovaRanges(cmd.IoasId, buffer, cmd.NumIovas, out uint num, out ulong alignment, out int written);
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

    internal Errno RawIoasAllowIovas(ref IommuIoasAllowIovas cmd)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        var user = UserSpan.Resolve(Memory, cmd.AllowedIovas, (ulong)cmd.NumIovas * (ulong)Marshal.SizeOf<IommuIovaRange>());
        return AllowIovas(cmd.IoasId, MemoryMarshal.Cast<byte, IommuIovaRange>(user.Accessible), cmd.NumIovas);
    }

    /// <summary>
    /// ioas.c iommufd_ioas_iova_ranges(): the IOAS, then the ranges one by one into <paramref name="buffer"/> while
    /// fewer than <paramref name="max"/> are written (one past the buffer is EFAULT), then EMSGSIZE when there are
    /// more than <paramref name="max"/>.
    /// </summary>
    private Errno IovaRanges(uint ioasId, Span<IommuIovaRange> buffer, uint max, out uint num, out ulong alignment, out int written)
    {
        num = 0;
        alignment = 0;
        written = 0;
        var rc = _objects.Get<IoasObject>(ioasId, out var ioas);
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
    private Errno AllowIovas(uint ioasId, ReadOnlySpan<IommuIovaRange> ranges, uint count)
    {
        var rc = _objects.Get<IoasObject>(ioasId, out var ioas);
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
    internal Errno RawOption(ref IommuOption cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        Errno rc;
        switch ((IommuOptionId)cmd.OptionId)
        {
            case IommuOptionId.RlimitMode:
                rc = RlimitModeOption(ref cmd);
                break;
            case IommuOptionId.HugePages:
                rc = _objects.Get<IoasObject>(cmd.ObjectId, out var ioas);
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
                        IommuOptionOp.Set => Errno.EINVAL,
                        _ => Errno.EOPNOTSUPP,
                    };
                    cmd.Val64 = (IommuOptionOp)cmd.Op == IommuOptionOp.Get ? (ioas.Object.HugePages ? 1UL : 0) : cmd.Val64;
                }

                break;
            default:
                return Errno.EOPNOTSUPP;
        }

        respond = rc == Errno.Success; // only val64 changes
        return rc;
    }

    private Errno RlimitModeOption(ref IommuOption cmd)
    {
        if (cmd.ObjectId != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        switch ((IommuOptionOp)cmd.Op)
        {
            case IommuOptionOp.Get:
                cmd.Val64 = (ulong)Volatile.Read(ref _accountModeMm);
                return Errno.Success;
            case IommuOptionOp.Set:
                // The caller is taken to have CAP_SYS_RESOURCE; page accounting itself is not emulated.
                if (_objects.Count > 0)
                {
                    return Errno.EBUSY;
                }

                if (cmd.Val64 > 1)
                {
                    return Errno.EINVAL;
                }

                Volatile.Write(ref _accountModeMm, (int)cmd.Val64);
                return Errno.Success;
            default:
                return Errno.EOPNOTSUPP;
        }
    }

    internal Errno RawVfioIoas(ref IommuVfioIoas cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        switch ((IommuVfioIoasOp)cmd.Op)
        {
            case IommuVfioIoasOp.Get:
                var current = Volatile.Read(ref _vfioCompatIoas);
                if (current is null || _objects.Get<IoasObject>(current.Id, out var found) != Errno.Success)
                {
                    return Errno.ENODEV;
                }

                bool same = ReferenceEquals(found.Object, current);
                found.Dispose();
                if (!same)
                {
                    return Errno.ENODEV; // vfio_compat.c get_compat_ioas(): the compat IOAS was destroyed
                }

                cmd.IoasId = current.Id;
                respond = true;
                return Errno.Success;
            case IommuVfioIoasOp.Set:
                var rc = _objects.Get<IoasObject>(cmd.IoasId, out var ioas);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                Volatile.Write(ref _vfioCompatIoas, ioas.Object);
                ioas.Dispose();
                return Errno.Success;
            case IommuVfioIoasOp.Clear:
                Volatile.Write(ref _vfioCompatIoas, null);
                return Errno.Success;
            default:
                return Errno.EOPNOTSUPP;
        }
    }

    internal Errno RawIoasMapFile(ref IommuIoasMapFile cmd)
    {
        // ioas.c iommufd_ioas_map_file(): the map checks and the IOAS before the fd; no fd names a memfd here.
        var rc = CheckMapArguments((IommuIoasMapFlags)cmd.Flags, cmd.Iova, cmd.Length);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = _objects.Get<IoasObject>(cmd.IoasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        ioas.Dispose();
        return Errno.EBADF;
    }

    internal Errno RawIoasChangeProcess(ref IommuIoasChangeProcess cmd) =>
        cmd.Reserved != 0 ? Errno.EOPNOTSUPP : IoasChangeProcess();

    internal Errno RawDestroy(ref IommuDestroy cmd) => Destroy(cmd.Id);

    private bool HasAnyMapping() => _objects.Snapshot<IoasObject>().Exists(ioas => ioas.AreaCount > 0);

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
