using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

// IOMMU_TEST_CMD: the core side of selftest.c, lent to the plugin that answers the command.
public sealed partial class IommufdFile
{
    private static int s_nextSelftestStreamId = 0x10_0000; // mock devices get stream IDs no configured device uses

    private SelftestContext? _selftestContext;

    /// <summary>The plugin that answers IOMMU_TEST_CMD, if any (the mock driver registers one).</summary>
    internal ISelftestCommands? Selftest { get; init; }

    internal Errno RawTestCmd(ref IommuTestCmd cmd, ref bool respond)
    {
        if (Selftest is not { } selftest)
        {
            return Errno.ENOTTY;
        }

        _selftestContext ??= new SelftestContext(this);
        return selftest.Execute(_selftestContext, ref cmd, ref respond);
    }

    /// <summary>The pin count of a CPU page over every IOAS of the file (see <see cref="ISelftestContext.CountPins"/>).</summary>
    private int CountPins(ulong userPage)
    {
        var seen = new HashSet<object>();
        int pins = 0;
        foreach (var ioas in _objects.Snapshot<IoasObject>())
        {
            pins += ioas.CountPins(userPage, seen);
        }

        return pins;
    }

    private Errno CreateSelftestDevice(IIommuInstance iommu, Action<EndpointDevice>? probed, uint ptId, out SelftestDeviceIds ids)
    {
        ids = default;
        int streamId = Interlocked.Increment(ref s_nextSelftestStreamId);
        var device = new EndpointDevice($"iommufd_mock{streamId:x}", (uint)streamId, atsCapable: false, iommu);
        iommu.ProbeDevice(device);
        probed?.Invoke(device);
        var rc = BindDevice(device, out uint idevId);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = AttachDevice(idevId, ref ptId);
        if (rc != Errno.Success)
        {
            UnbindDevice(idevId);
            return rc;
        }

        uint stdevId = _objects.Add(new SelftestObject(device, idevId, DestroySelftestDevice));
        ids = new SelftestDeviceIds(stdevId, ptId, idevId, device);
        return Errno.Success;
    }

    /// <summary>selftest.c iommufd_selftest_destroy(): detach and unbind (a closing file has unbound it already).</summary>
    private void DestroySelftestDevice(SelftestObject stdev)
    {
        if (_objects.Get<DeviceObject>(stdev.DevId, out var handle) == Errno.Success)
        {
            var idev = handle.Object;
            handle.Dispose();
            if (ReferenceEquals(idev.Device, stdev.Device))
            {
                Unbind(idev);
            }
        }
    }

    /// <summary><see cref="ISelftestContext"/> over one file; every lookup is released before it returns.</summary>
    private sealed class SelftestContext(IommufdFile file) : ISelftestContext
    {
        public UserMemory Memory => file.Memory;

        public bool TryGetPhysicalAddress(ulong userVa, out ulong physicalAddress) =>
            file.Memory.TryGetPhysicalAddress(userVa, out physicalAddress);

        public Errno ReserveIova(uint ioasId, ulong start, ulong last)
        {
            var rc = file._objects.Get<IoasObject>(ioasId, out var ioas);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (ioas)
            {
                return ioas.Object.Reserve(start, last, owner: null);
            }
        }

        public Errno GetPagingDomain(uint hwptId, out IPagingDomain domain) =>
            Lookup(hwptId, (HwptPagingObject h) => h.PagingDomain, out domain);

        public Errno GetNestedDomain(uint hwptId, out INestedDomain domain) =>
            Lookup(hwptId, (HwptNestedObject h) => h.NestedDomain, out domain);

        public Errno GetDevice(uint devId, out EndpointDevice device) =>
            Lookup(devId, (DeviceObject d) => d.Device, out device);

        public int CountPins(ulong userPage) => file.CountPins(userPage);

        public Errno CreateDevice(IIommuInstance iommu, Action<EndpointDevice>? probed, uint ptId, out SelftestDeviceIds ids)
        {
            ArgumentNullException.ThrowIfNull(iommu);
            return file.CreateSelftestDevice(iommu, probed, ptId, out ids);
        }

        /// <summary>iommufd_get_object() of one kind, the part selftest.c reads taken, and the reference put back.</summary>
        private Errno Lookup<T, TResult>(uint id, Func<T, TResult> select, out TResult result)
            where T : Objects.IommufdObject
        {
            result = default!;
            var rc = file._objects.Get<T>(id, out var handle);
            if (rc == Errno.Success)
            {
                result = select(handle.Object);
                handle.Dispose();
            }

            return rc;
        }

        public Errno CreateAccess(uint ioasId, out ISelftestAccess access, out int fd)
        {
            access = null!;
            fd = -1;
            var rc = file._objects.Get<IoasObject>(ioasId, out var ioas);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (ioas)
            {
                var created = new IoasAccess(ioas.Object);
                fd = file.AddFile(created);
                access = created;
                return Errno.Success;
            }
        }

        public Errno GetAccess(int fd, out ISelftestAccess access)
        {
            var rc = FindAccess(fd, out var found);
            access = found;
            return rc;
        }

        public Errno ReplaceAccessIoas(int fd, uint ioasId)
        {
            var rc = FindAccess(fd, out var access);
            if (rc != Errno.Success)
            {
                return rc;
            }

            rc = file._objects.Get<IoasObject>(ioasId, out var ioas);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (ioas)
            {
                return access.Replace(ioas.Object);
            }
        }

        /// <summary>selftest.c iommufd_access_get(): EBADFD for an fd that is not an access's.</summary>
        private Errno FindAccess(int fd, out IoasAccess access)
        {
            access = null!;
            lock (file._fdLock)
            {
                if (!file._files.TryGetValue(fd, out var open) || open is not IoasAccess found)
                {
                    return Errno.EBADFD;
                }

                access = found;
                return Errno.Success;
            }
        }

        public Errno ReportPageFault(uint devId, IommuHwptPgfault fault)
        {
            var rc = file._objects.Get<DeviceObject>(devId, out var idev);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (idev)
            lock (file._attachLock)
            {
                fault.DevId = devId;
                idev.Object.Attached?.Fault?.Report(fault);
                return Errno.Success;
            }
        }

        public Errno ReplaceDevice(uint stdevId, ref uint ptId)
        {
            var rc = file._objects.Get<SelftestObject>(stdevId, out var stdev);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (stdev)
            {
                return file.ReplaceDevice(stdev.Object.DevId, ref ptId);
            }
        }
    }
}
