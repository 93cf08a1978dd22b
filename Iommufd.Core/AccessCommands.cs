using Iommufd.Core.Ioas;

namespace Iommufd.Core;

/// <summary>
/// Accesses (drivers/iommu/iommufd/device.c iommufd_access_create(), iommufd_access_replace()): an in-kernel user of
/// an IOAS with its own pins and unmap notification (<see cref="IoasAccess"/>), held by an fd. The selftest's
/// CREATE_ACCESS and ACCESS_* ops drive them.
/// </summary>
internal static class AccessCommands
{
    /// <summary>A new access on the IOAS <paramref name="ioasId"/> and the fd that holds it.</summary>
    internal static Errno CreateAccess(this IommufdFile file, uint ioasId, bool needsPinPages, bool keepsPinsOnUnmap, out IoasAccess access, out int fd)
    {
        access = null!;
        fd = -1;
        var rc = file.Objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            access = new IoasAccess(ioas.Object, needsPinPages, keepsPinsOnUnmap);
            fd = file.AddFile(access);
            return Errno.Success;
        }
    }

    /// <summary>selftest.c iommufd_access_get(): EBADFD for an fd that is not an access's.</summary>
    internal static Errno FindAccess(this IommufdFile file, int fd, out IoasAccess access)
    {
        access = null!;
        if (!file.TryFindFile(fd, out var open) || open is not IoasAccess found)
        {
            return Diagnostics.Refusal.Because(Errno.EBADFD, $"fd {fd} is not an access made by CREATE_ACCESS");
        }

        access = found;
        return Errno.Success;
    }

    /// <summary>device.c iommufd_access_replace(): the access moves to the IOAS <paramref name="ioasId"/>.</summary>
    internal static Errno ReplaceAccessIoas(this IommufdFile file, int fd, uint ioasId)
    {
        var rc = file.FindAccess(fd, out var access);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = file.Objects.Get<IoasObject>(ioasId, out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            return access.Replace(ioas.Object);
        }
    }
}
