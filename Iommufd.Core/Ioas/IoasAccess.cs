using Iommufd.Core.Driver;
using Iommufd.Core.Objects;

namespace Iommufd.Core.Ioas;

/// <summary>
/// An access attached to an IOAS and the anonymous file that holds it (selftest.c's staccess file): the access
/// keeps the IOAS from being destroyed (EBUSY) until the file is closed.
/// </summary>
internal sealed class IoasAccess : IEventFile, ISelftestAccess
{
    private readonly Lock _replaceLock = new(); // serialises Replace; readers take _ioas as it is
    private IoasObject? _ioas;

    /// <summary>Attaches to <paramref name="ioas"/>, which the caller holds a reference on.</summary>
    public IoasAccess(IoasObject ioas)
    {
        ioas.AddUser();
        _ioas = ioas;
    }

    public Errno ReadWrite(ulong iova, Span<byte> data, bool write) =>
        Volatile.Read(ref _ioas) is { } ioas ? ioas.AccessReadWrite(iova, data, write) : Errno.ENOENT;

    /// <summary>
    /// device.c iommufd_access_replace(): moves the access to <paramref name="ioas"/>, which the caller holds a
    /// reference on; a closed access is ENOENT, the same IOAS changes nothing.
    /// </summary>
    public Errno Replace(IoasObject ioas)
    {
        lock (_replaceLock)
        {
            var current = Volatile.Read(ref _ioas);
            if (current is null)
            {
                return Errno.ENOENT;
            }

            if (!ReferenceEquals(current, ioas))
            {
                ioas.AddUser();
                Volatile.Write(ref _ioas, ioas);
                current.RemoveUser();
            }

            return Errno.Success;
        }
    }

    /// <summary>The staccess file has no read op (the VFS answers EINVAL).</summary>
    public Errno Read(Span<byte> buffer, long position, out int count)
    {
        count = 0;
        return Errno.EINVAL;
    }

    /// <summary>Nor a write op.</summary>
    public Errno Write(ReadOnlySpan<byte> buffer, long position, out int count)
    {
        count = 0;
        return Errno.EINVAL;
    }

    /// <summary>selftest.c iommufd_test_staccess_release(): the access is destroyed, the IOAS released.</summary>
    public void Close() => Interlocked.Exchange(ref _ioas, null)?.RemoveUser();
}
