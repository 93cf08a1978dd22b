using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// IOMMU_TEST_CMD (drivers/iommu/iommufd/selftest.c): the core side, an <see cref="ISelftestContext"/> lent to the
/// plugin that answers the command (<see cref="ISelftestCommands"/>), and the mock devices it creates.
/// </summary>
internal static class SelftestCommands
{
    private static int s_nextSelftestStreamId = 0x10_0000; // mock devices get stream IDs no configured device uses

    internal static Errno RawTestCmd(this IommufdFile file, ref IommuTestCmd cmd, ref bool respond)
    {
        if (file.Selftest is not { } selftest)
        {
            return Errno.ENOTTY;
        }

        file.SelftestContext ??= new SelftestContext(file);
        return selftest.Execute(file.SelftestContext, ref cmd, ref respond);
    }

    /// <summary>
    /// The struct of a successful IOMMU_TEST_CMD could not be written back: the plugin undoes what the op made, as the
    /// selftest.c handlers do when iommufd_ucmd_respond() fails.
    /// </summary>
    internal static void AbortTestCmd(this IommufdFile file, ReadOnlySpan<byte> response)
    {
        if (file.Selftest is { } selftest && file.SelftestContext is { } context)
        {
            var cmd = default(IommuTestCmd);
            int length = Math.Min(response.Length, System.Runtime.CompilerServices.Unsafe.SizeOf<IommuTestCmd>());
            response[..length].CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new Span<IommuTestCmd>(ref cmd)));
            selftest.AbortResponse(context, in cmd);
        }
    }

    /// <summary>The pin count of a CPU page over every IOAS of the file (see <see cref="ISelftestContext.CountPins"/>).</summary>
    private static int CountPins(this IommufdFile file, ulong userPage)
    {
        var seen = new HashSet<object>();
        int pins = 0;
        foreach (var ioas in file.Objects.Snapshot<IoasObject>())
        {
            pins += ioas.CountPins(userPage, seen);
        }

        return pins;
    }

    private static Errno CreateSelftestDevice(this IommufdFile file, IIommuInstance iommu, int pasidBits, Action<EndpointDevice>? probed, uint ptId, out SelftestDeviceIds ids)
    {
        ids = default;
        int streamId = Interlocked.Increment(ref s_nextSelftestStreamId);
        var device = new EndpointDevice($"iommufd_mock{streamId:x}", (uint)streamId, atsCapable: false, iommu, pasidBits);
        iommu.ProbeDevice(device);
        probed?.Invoke(device);
        var rc = file.BindDevice(device, out uint idevId);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = file.AttachDevice(idevId, ref ptId);
        if (rc != Errno.Success)
        {
            file.UnbindDevice(idevId);
            return rc;
        }

        uint stdevId = file.Objects.Add(new SelftestObject(device, idevId, file.DestroySelftestDevice));
        ids = new SelftestDeviceIds(stdevId, ptId, idevId, device);
        return Errno.Success;
    }

    /// <summary>selftest.c iommufd_selftest_destroy(): detach and unbind (a closing file has unbound it already).</summary>
    private static void DestroySelftestDevice(this IommufdFile file, SelftestObject stdev)
    {
        if (file.Objects.Get<DeviceObject>(stdev.DevId, out var handle) == Errno.Success)
        {
            var idev = handle.Object;
            handle.Dispose();
            if (ReferenceEquals(idev.Device, stdev.Device))
            {
                file.Unbind(idev);
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
            var rc = file.Objects.Get<IoasObject>(ioasId, out var ioas);
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

        public Errno CreateDevice(IIommuInstance iommu, int pasidBits, Action<EndpointDevice>? probed, uint ptId, out SelftestDeviceIds ids)
        {
            ArgumentNullException.ThrowIfNull(iommu);
            ArgumentOutOfRangeException.ThrowIfNegative(pasidBits);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(pasidBits, EndpointDevice.MaxPasidBits);
            return file.CreateSelftestDevice(iommu, pasidBits, probed, ptId, out ids);
        }

        /// <summary>iommufd_get_object() of one kind, the part selftest.c reads taken, and the reference put back.</summary>
        private Errno Lookup<T, TResult>(uint id, Func<T, TResult> select, out TResult result)
            where T : Objects.IommufdObject
        {
            result = default!;
            var rc = file.Objects.Get<T>(id, out var handle);
            if (rc == Errno.Success)
            {
                result = select(handle.Object);
                handle.Dispose();
            }

            return rc;
        }

        public Errno CreateAccess(uint ioasId, bool needsPinPages, bool keepsPinsOnUnmap, out ISelftestAccess access, out int fd)
        {
            var rc = file.CreateAccess(ioasId, needsPinPages, keepsPinsOnUnmap, out var created, out fd);
            access = created;
            return rc;
        }

        public Errno GetAccess(int fd, out ISelftestAccess access)
        {
            var rc = file.FindAccess(fd, out var found);
            access = found;
            return rc;
        }

        public Errno ReplaceAccessIoas(int fd, uint ioasId) => file.ReplaceAccessIoas(fd, ioasId);

        public Errno ReportPageFault(uint devId, IommuHwptPgfault fault)
        {
            var rc = file.Objects.Get<DeviceObject>(devId, out var idev);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (idev)
            lock (file.AttachLock)
            {
                // io-pgfault.c find_fault_handler(): a fault with a PASID goes to that PASID's attachment; without
                // one, to the RID's nested domain when the driver leaves the PASID table to the guest; else nowhere.
                var target = (fault.Flags & (uint)IommuHwptPgfaultFlags.PasidValid) == 0 ? idev.Object.Attached
                    : idev.Object.PasidAttached.TryGetValue(fault.Pasid, out var pasidHwpt) ? pasidHwpt
                    : idev.Object.Device.Iommu.UserPasidTable && idev.Object.Attached is HwptNestedObject nested ? nested
                    : null;
                fault.DevId = devId;
                target?.Fault?.Report(fault);
                return Errno.Success;
            }
        }

        public Errno GetSelftestDevice(uint stdevId, out EndpointDevice device) =>
            Lookup(stdevId, (SelftestObject s) => s.Device, out device);

        public Errno AttachPasid(uint stdevId, uint pasid, ref uint ptId)
        {
            var rc = Lookup(stdevId, (SelftestObject s) => s.DevId, out uint devId);
            return rc != Errno.Success ? rc : file.AttachDevicePasid(devId, pasid, ref ptId);
        }

        public Errno ReplacePasid(uint stdevId, uint pasid, ref uint ptId)
        {
            var rc = Lookup(stdevId, (SelftestObject s) => s.DevId, out uint devId);
            return rc != Errno.Success ? rc : file.ReplaceDevicePasid(devId, pasid, ref ptId);
        }

        public Errno DetachPasid(uint stdevId, uint pasid)
        {
            var rc = Lookup(stdevId, (SelftestObject s) => s.DevId, out uint devId);
            return rc != Errno.Success ? rc : file.DetachDevicePasid(devId, pasid);
        }

        public Errno GetHwptDomain(uint hwptId, out IIommuDomain domain)
        {
            domain = null!;
            var rc = file.Objects.Get(hwptId, out var handle);
            if (rc != Errno.Success)
            {
                return rc;
            }

            using (handle)
            {
                if (handle.Object is not HwptObject hwpt)
                {
                    return Diagnostics.Refusal.Because(Errno.EINVAL, $"ID {hwptId} is a {handle.Object.Type}, not a HWPT");
                }

                domain = hwpt.Domain;
                return Errno.Success;
            }
        }

        public Errno GetAttachedDomain(uint stdevId, uint pasid, out IIommuDomain? domain)
        {
            domain = null;
            var rc = Lookup(stdevId, (SelftestObject s) => s.DevId, out uint devId);
            if (rc != Errno.Success || file.Objects.Get<DeviceObject>(devId, out var idev) != Errno.Success)
            {
                return rc == Errno.Success ? Errno.ENOENT : rc;
            }

            using (idev)
            lock (file.AttachLock)
            {
                domain = pasid == 0 ? idev.Object.Attached?.Domain : idev.Object.PasidAttached.GetValueOrDefault(pasid)?.Domain;
                return Errno.Success;
            }
        }

        public void DestroyCreated(uint id) => file.Objects.Destroy(id);

        public void CloseCreated(int fd) => file.Close(fd);

        public Errno ReplaceDevice(uint stdevId, ref uint ptId)
        {
            var rc = file.Objects.Get<SelftestObject>(stdevId, out var stdev);
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
