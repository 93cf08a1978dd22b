using System.Runtime.InteropServices;
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

    private uint _vfioCompatIoas;

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

        ioasId = _objects.Add(new IoasObject(Memory, _faults));
        return Errno.Success;
    }

    /// <summary>
    /// IOMMU_IOAS_MAP: maps [<paramref name="userVa"/>, +<paramref name="length"/>) of user memory. With
    /// <see cref="IommuIoasMapFlags.FixedIova"/> at <paramref name="iova"/>, else at an IOVA the IOAS picks.
    /// </summary>
    public Errno IoasMap(uint ioasId, ulong userVa, ulong length, IommuIoasMapFlags flags, ref ulong iova)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return Errno.EBADF;
        }

        if ((flags & ~KnownMapFlags) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        var rc = _objects.Get<IoasObject>(ioasId, out var ioas);
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
            rc = ioas.Object.Unmap(iova, length, out ulong unmapped);
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

        if ((flags & ~KnownMapFlags) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        var rc = _objects.Get<IoasObject>(srcIoasId, out var src);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (src)
        {
            rc = _objects.Get<IoasObject>(dstIoasId, out var dst);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (dst)
            {
                return dst.Object.CopyFrom(src.Object, srcIova, length, ToProtection(flags), (flags & IommuIoasMapFlags.FixedIova) != 0, ref dstIova);
            }
        }
    }

    /// <summary>
    /// IOMMU_IOAS_IOVA_RANGES: writes the usable IOVA ranges into <paramref name="ranges"/>; EMSGSIZE (with
    /// <paramref name="numIovas"/> still set) when it is too short.
    /// </summary>
    public Errno IoasIovaRanges(uint ioasId, Span<IommuIovaRange> ranges, out uint numIovas, out ulong iovaAlignment)
    {
        numIovas = 0;
        iovaAlignment = 0;
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
            var usable = ioas.Object.GetUsableRanges();
            numIovas = (uint)usable.Count;
            iovaAlignment = IoasObject.IovaAlignment;
            if (usable.Count > ranges.Length)
            {
                return Errno.EMSGSIZE;
            }

            CollectionsMarshal.AsSpan(usable).CopyTo(ranges);
            return Errno.Success;
        }
    }

    /// <summary>IOMMU_IOAS_ALLOW_IOVAS: replaces the IOAS's allowed IOVA ranges (empty = everything).</summary>
    public Errno IoasAllowIovas(uint ioasId, ReadOnlySpan<IommuIovaRange> ranges)
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
            return ioas.Object.SetAllowedRanges(ranges);
        }
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
            return Errno.EOPNOTSUPP;
        }

        var rc = IoasAlloc(out cmd.OutIoasId);
        respond = rc == Errno.Success;
        return rc;
    }

    internal Errno RawIoasMap(ref IommuIoasMap cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
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
            return Errno.EOPNOTSUPP;
        }

        ulong bytes = (ulong)cmd.NumIovas * (ulong)Marshal.SizeOf<IommuIovaRange>();
        var user = UserSpan.Resolve(Memory, cmd.AllowedIovas, bytes);
        if (cmd.NumIovas != 0 && !user.IsFullyAccessible)
        {
            return Errno.EFAULT;
        }

        var rc = IoasIovaRanges(cmd.IoasId, MemoryMarshal.Cast<byte, IommuIovaRange>(user.Accessible), out cmd.NumIovas, out cmd.OutIovaAlignment);
        int filled = (int)Math.Min(bytes, (ulong)cmd.NumIovas * (ulong)Marshal.SizeOf<IommuIovaRange>());
        if (rc == Errno.Success && !user.Commit(filled))
        {
            return Errno.EFAULT;
        }

        respond = rc is Errno.Success or Errno.EMSGSIZE;
        return rc;
    }

    internal Errno RawIoasAllowIovas(ref IommuIoasAllowIovas cmd)
    {
        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        ulong bytes = (ulong)cmd.NumIovas * (ulong)Marshal.SizeOf<IommuIovaRange>();
        var user = UserSpan.Resolve(Memory, cmd.AllowedIovas, bytes);
        if (cmd.NumIovas != 0 && !user.IsFullyAccessible)
        {
            return Errno.EFAULT;
        }

        return IoasAllowIovas(cmd.IoasId, MemoryMarshal.Cast<byte, IommuIovaRange>(user.Accessible));
    }

    internal Errno RawOption(ref IommuOption cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (cmd.Op != (ushort)IommuOptionOp.Set && cmd.Op != (ushort)IommuOptionOp.Get)
        {
            return Errno.EOPNOTSUPP;
        }

        bool get = cmd.Op == (ushort)IommuOptionOp.Get;
        switch ((IommuOptionId)cmd.OptionId)
        {
            case IommuOptionId.RlimitMode when cmd.ObjectId == 0:
                // Page accounting is not emulated: the mode reads as 0 (per user) and only 0 or 1 may be set.
                if (get)
                {
                    cmd.Val64 = 0;
                    respond = true;
                    return Errno.Success;
                }

                return cmd.Val64 <= 1 ? Errno.Success : Errno.EINVAL;
            case IommuOptionId.HugePages:
                var rc = _objects.Get<IoasObject>(cmd.ObjectId, out var ioas);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                using (ioas)
                {
                    if (get)
                    {
                        cmd.Val64 = 1;
                        respond = true;
                        return Errno.Success;
                    }

                    return cmd.Val64 <= 1 ? Errno.Success : Errno.EINVAL;
                }

            default:
                return Errno.EOPNOTSUPP;
        }
    }

    internal Errno RawVfioIoas(ref IommuVfioIoas cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        switch ((IommuVfioIoasOp)cmd.Op)
        {
            case IommuVfioIoasOp.Get:
                uint current = Volatile.Read(ref _vfioCompatIoas);
                if (current == 0 || _objects.Get<IoasObject>(current, out var found) != Errno.Success)
                {
                    return Errno.ENODEV;
                }

                found.Dispose();
                cmd.IoasId = current;
                respond = true;
                return Errno.Success;
            case IommuVfioIoasOp.Set:
                var rc = _objects.Get<IoasObject>(cmd.IoasId, out var ioas);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                ioas.Dispose();
                Volatile.Write(ref _vfioCompatIoas, cmd.IoasId);
                return Errno.Success;
            case IommuVfioIoasOp.Clear:
                Volatile.Write(ref _vfioCompatIoas, 0);
                return Errno.Success;
            default:
                return Errno.EOPNOTSUPP;
        }
    }

    internal static Errno RawIoasMapFile(ref IommuIoasMapFile cmd)
    {
        // This emulation has no memfds, so no fd can name one.
        if ((cmd.Flags & ~(uint)KnownMapFlags) != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        return Errno.EBADF;
    }

    internal Errno RawIoasChangeProcess(ref IommuIoasChangeProcess cmd) =>
        cmd.Reserved != 0 ? Errno.EOPNOTSUPP : IoasChangeProcess();

    internal Errno RawDestroy(ref IommuDestroy cmd) => Destroy(cmd.Id);

    private bool HasAnyMapping() => _objects.Snapshot<IoasObject>().Exists(ioas => ioas.AreaCount > 0);

    private static IommuProtection ToProtection(IommuIoasMapFlags flags) =>
        ((flags & IommuIoasMapFlags.Readable) != 0 ? IommuProtection.Read : 0)
        | ((flags & IommuIoasMapFlags.Writeable) != 0 ? IommuProtection.Write : 0);
}
