using Iommufd.Core;
using Iommufd.Core.Devices;

namespace Iommufd.Native;

/// <summary>
/// The program's fd table as the shim keeps it: VFIO_DEVICE_BIND_IOMMUFD names the /dev/iommu file by fd, and
/// the binding holds a reference on it (in the shim's counts), so closing that fd first leaves the file open.
/// </summary>
internal sealed class ShimFdTable : IIommufdFdTable
{
    public static ShimFdTable Instance { get; } = new();

    public Errno Acquire(int fd, out IommufdFile file)
    {
        file = null!;
        int handle = Shim.GetIommufd(fd);
        if (handle < 0)
        {
            return (Errno)(-handle);
        }

        if (NativeFiles.Get(handle) is not IommufdFile f)
        {
            Shim.PutIommufd(handle);
            return Errno.EBADFD;
        }

        file = f;
        return Errno.Success;
    }

    public void Release(IommufdFile file)
    {
        int handle = NativeFiles.HandleOf(file);
        if (handle >= 0)
        {
            Shim.PutIommufd(handle);
        }
    }
}
