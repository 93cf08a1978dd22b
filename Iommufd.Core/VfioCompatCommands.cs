using Iommufd.Core.Diagnostics;
using Iommufd.Core.Ioas;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// VFIO compatibility (drivers/iommu/iommufd/vfio_compat.c): IOMMU_VFIO_IOAS, which names the IOAS a VFIO
/// container's ioctls work on.
/// </summary>
internal static class VfioCompatCommands
{
    internal static Errno RawVfioIoas(this IommufdFile file, ref IommuVfioIoas cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        switch ((IommuVfioIoasOp)cmd.Op)
        {
            case IommuVfioIoasOp.Get:
                var current = Volatile.Read(ref file.VfioCompatIoas);
                if (current is null || file.Objects.Get<IoasObject>(current.Id, out var found) != Errno.Success)
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
                var rc = file.Objects.Get<IoasObject>(cmd.IoasId, out var ioas);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                Volatile.Write(ref file.VfioCompatIoas, ioas.Object);
                ioas.Dispose();
                return Errno.Success;
            case IommuVfioIoasOp.Clear:
                Volatile.Write(ref file.VfioCompatIoas, null);
                return Errno.Success;
            default:
                return Errno.EOPNOTSUPP;
        }
    }
}
