using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Microsoft.Extensions.DependencyInjection;

using Iommufd.Tests.Support;

namespace Iommufd.Tests.Contract;

/// <summary>
/// One emulated machine with a mock IOMMU and one device ("dev0", bound to an open iommufd file as
/// <see cref="DevId"/>), an IOAS, and typed helpers that drive the RAW ioctl entry point: each helper fills a UAPI
/// struct, passes its bytes to <see cref="IommufdFile.Ioctl(uint, Span{byte})"/> and returns the errno, as the
/// selftest's <c>test_cmd_*</c> / <c>test_err_*</c> macros do. Pointer fields point into <see cref="Process"/>.
/// </summary>
internal sealed class MockFixture : IDisposable
{
    public const ulong PageSize = PhysicalMemory.PageSize;

    /// <summary>IOMMU_TEST_IOTLB_DEFAULT, what every nested HWPT of these tests starts with.</summary>
    public const uint IotlbDefault = SelftestConstants.IotlbDefault;

    private const int ScratchSize = 64 * 1024;

    private readonly ServiceProvider _provider;
    private readonly UserScratch _scratch;
    private bool _attached;

    public MockFixture()
    {
        _provider = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu().AddDevice("dev0", "mock0", streamId: 0x10))
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Host = _provider.GetRequiredService<IommufdHost>();
        Process = Host.CreateProcess();
        File = Host.Open(Process);
        Device = Host.Platform.GetDevice("dev0");
        Mock = (MockIommu)Device.Iommu;
        _scratch = new UserScratch(Process.Map(ScratchSize));
        GuestRam = Process.Map(16 * (long)PageSize);
        Expect(File.BindDevice(Device, out uint devId), "bind dev0");
        DevId = devId;
        IoasId = AllocIoas();
    }

    public IommufdHost Host { get; }

    /// <summary>The machine's services (the fault-injection seam, for sweeps).</summary>
    public IServiceProvider Services => _provider;

    public PhysicalMemory Memory => Host.Platform.Memory;

    /// <summary>The VMM's address space: user pointers of every ioctl resolve here.</summary>
    public UserMemory Process { get; }

    public IommufdFile File { get; }

    public EndpointDevice Device { get; }

    public MockIommu Mock { get; }

    /// <summary>16 physically contiguous pages of "guest RAM" for IOAS_MAP.</summary>
    public UserRegion GuestRam { get; }

    public uint DevId { get; }

    public uint IoasId { get; }

    /// <summary>Runs a command with <paramref name="cmd"/>'s bytes, its <c>size</c> set to the full struct.</summary>
    public Errno Raw<T>(uint request, ref T cmd)
        where T : unmanaged => File.Ioctl(request, ref cmd);

    /// <summary>Copies <paramref name="items"/> into user memory and returns their address (8-byte aligned).</summary>
    public ulong Put<T>(params ReadOnlySpan<T> items)
        where T : unmanaged => PutBytes(MemoryMarshal.AsBytes(items));

    /// <summary>Copies raw bytes into user memory and returns their address (8-byte aligned).</summary>
    public ulong PutBytes(ReadOnlySpan<byte> bytes) => _scratch.Put(bytes);

    /// <summary>Reads a struct back from user memory (driver output such as VIOMMU_ALLOC's <c>out_*</c> fields).</summary>
    public T Get<T>(ulong address)
        where T : unmanaged
    {
        Assert.That(Process.TryGetSpan(address, (ulong)Unsafe.SizeOf<T>(), out var span), Is.True, "address in user memory");
        return MemoryMarshal.Read<T>(span);
    }

    public uint AllocIoas()
    {
        var cmd = new IommuIoasAlloc();
        Expect(Raw(IommufdIoctl.IOMMU_IOAS_ALLOC, ref cmd), "IOAS_ALLOC");
        return cmd.OutIoasId;
    }

    /// <summary>IOMMU_IOAS_MAP of guest RAM pages at an IOVA the IOAS picks (the selftest's test_ioctl_ioas_map).</summary>
    public Errno MapGuestRam(ulong offset, ulong length, out ulong iova)
    {
        var cmd = new IommuIoasMap
        {
            Flags = (uint)(IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable),
            IoasId = IoasId,
            UserVa = GuestRam.Address + offset,
            Length = length,
        };
        var rc = Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
        iova = cmd.Iova;
        return rc;
    }

    /// <summary>IOMMU_IOAS_MAP of guest RAM pages at a fixed IOVA with the given access.</summary>
    public Errno MapGuestRamAt(ulong offset, ulong length, ulong iova, IommuIoasMapFlags access)
    {
        var cmd = new IommuIoasMap
        {
            Flags = (uint)(access | IommuIoasMapFlags.FixedIova),
            IoasId = IoasId,
            UserVa = GuestRam.Address + offset,
            Length = length,
            Iova = iova,
        };
        return Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
    }

    public Errno Unmap(ulong iova, ulong length) => File.RawUnmap(IoasId, iova, length);

    public Errno Destroy(uint id) => File.RawDestroy(id);

    /// <summary>IOMMU_HWPT_ALLOC with every field the caller may vary.</summary>
    public Errno AllocHwpt(
        uint devId,
        uint ptId,
        IommuHwptAllocFlags flags,
        out uint hwptId,
        IommuHwptDataType dataType = IommuHwptDataType.None,
        ulong dataUptr = 0,
        uint dataLen = 0,
        uint faultId = 0)
    {
        var cmd = new IommuHwptAlloc
        {
            Flags = (uint)flags,
            DevId = devId,
            PtId = ptId,
            DataType = (uint)dataType,
            DataLen = dataLen,
            DataUptr = dataUptr,
            FaultId = faultId,
        };
        var rc = Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref cmd);
        hwptId = cmd.OutHwptId;
        return rc;
    }

    /// <summary>A paging HWPT on the fixture's IOAS, a nest parent by default.</summary>
    public uint AllocPaging(IommuHwptAllocFlags flags = IommuHwptAllocFlags.NestParent)
    {
        Expect(AllocHwpt(DevId, IoasId, flags, out uint id), "HWPT_ALLOC (paging)");
        return id;
    }

    /// <summary>HWPT_ALLOC of a nested HWPT on <paramref name="ptId"/> (a nest parent or a vIOMMU).</summary>
    public Errno AllocNested(uint ptId, out uint hwptId, IommuHwptAllocFlags flags = 0, uint iotlb = IotlbDefault, uint faultId = 0)
    {
        ulong data = Put(new IommuHwptSelftest { Iotlb = iotlb });
        return AllocHwpt(DevId, ptId, flags, out hwptId, IommuHwptDataType.Selftest, data, (uint)Unsafe.SizeOf<IommuHwptSelftest>(), faultId);
    }

    public uint AllocNested(uint ptId)
    {
        Expect(AllocNested(ptId, out uint id), "HWPT_ALLOC (nested)");
        return id;
    }

    public Errno AllocViommu(uint devId, uint hwptId, uint type, out uint viommuId, ulong dataUptr = 0, uint dataLen = 0)
    {
        var cmd = new IommuViommuAlloc { Type = type, DevId = devId, HwptId = hwptId, DataUptr = dataUptr, DataLen = dataLen };
        var rc = Raw(IommufdIoctl.IOMMU_VIOMMU_ALLOC, ref cmd);
        viommuId = cmd.OutViommuId;
        return rc;
    }

    public Errno AllocVdevice(uint viommuId, uint devId, ulong virtId, out uint vdeviceId)
    {
        var cmd = new IommuVdeviceAlloc { ViommuId = viommuId, DevId = devId, VirtId = virtId };
        var rc = Raw(IommufdIoctl.IOMMU_VDEVICE_ALLOC, ref cmd);
        vdeviceId = cmd.OutVdeviceId;
        return rc;
    }

    public Errno AllocVeventq(uint viommuId, IommuVeventqType type, uint depth, out uint veventqId, out int fd)
    {
        var cmd = new IommuVeventqAlloc { ViommuId = viommuId, Type = (uint)type, VeventqDepth = depth };
        var rc = Raw(IommufdIoctl.IOMMU_VEVENTQ_ALLOC, ref cmd);
        veventqId = cmd.OutVeventqId;
        fd = (int)cmd.OutVeventqFd;
        return rc;
    }

    public Errno AllocHwQueue(uint viommuId, IommuHwQueueType type, uint index, ulong iova, ulong length, out uint hwQueueId)
    {
        var cmd = new IommuHwQueueAlloc { ViommuId = viommuId, Type = (uint)type, Index = index, NestingParentIova = iova, Length = length };
        var rc = Raw(IommufdIoctl.IOMMU_HW_QUEUE_ALLOC, ref cmd);
        hwQueueId = cmd.OutHwQueueId;
        return rc;
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE; <paramref name="entryNum"/> goes in as the request count and comes back as the kernel
    /// wrote it.
    /// </summary>
    public Errno Invalidate(uint id, uint dataType, uint entryLen, ulong dataUptr, ref uint entryNum)
    {
        var cmd = new IommuHwptInvalidate { HwptId = id, DataUptr = dataUptr, DataType = dataType, EntryLen = entryLen, EntryNum = entryNum };
        var rc = Raw(IommufdIoctl.IOMMU_HWPT_INVALIDATE, ref cmd);
        entryNum = cmd.EntryNum;
        return rc;
    }

    /// <summary>HWPT_INVALIDATE of nested-HWPT entries, entry_len = sizeof, entry_num = entries.Length.</summary>
    public Errno InvalidateNested(uint hwptId, out uint entryNum, params ReadOnlySpan<IommuHwptInvalidateSelftest> entries)
    {
        entryNum = (uint)entries.Length;
        return Invalidate(hwptId, (uint)IommuHwptInvalidateDataType.Selftest, (uint)Unsafe.SizeOf<IommuHwptInvalidateSelftest>(), Put(entries), ref entryNum);
    }

    /// <summary>HWPT_INVALIDATE of vIOMMU entries, entry_len = sizeof, entry_num = entries.Length.</summary>
    public Errno InvalidateViommu(uint viommuId, out uint entryNum, params ReadOnlySpan<IommuViommuInvalidateSelftest> entries)
    {
        entryNum = (uint)entries.Length;
        return Invalidate(viommuId, (uint)IommuHwptInvalidateDataType.Selftest, (uint)Unsafe.SizeOf<IommuViommuInvalidateSelftest>(), Put(entries), ref entryNum);
    }

    /// <summary>VFIO's attach, or replace when the device is attached already (the selftest's mock_domain_replace).</summary>
    public Errno Attach(uint ptId)
    {
        var rc = _attached ? File.ReplaceDevice(DevId, ref ptId) : File.AttachDevice(DevId, ref ptId);
        _attached |= rc == Errno.Success;
        return rc;
    }

    public Errno Detach()
    {
        var rc = File.DetachDevice(DevId);
        _attached &= rc != Errno.Success;
        return rc;
    }

    /// <summary>The four IOTLB slots of the mock nested domain behind <paramref name="hwptId"/> (MD_CHECK_IOTLB).</summary>
    public uint[] Iotlb(uint hwptId)
    {
        Expect(File.GetHwptDomain(hwptId, out var domain), $"HWPT {hwptId}");
        return [.. Enumerable.Range(0, (int)SelftestConstants.MockNestedDomainIotlbNum).Select(i => Mock.GetIotlb(domain, i))];
    }

    /// <summary>The four cache slots of dev0 (DEV_CHECK_CACHE).</summary>
    public uint[] DeviceCache() =>
        [.. Enumerable.Range(0, (int)SelftestConstants.MockDevCacheNum).Select(i => Mock.GetDeviceCache(Device, i))];

    /// <summary>
    /// The selftest's <c>_test_cmd_read_vevents</c> (tools/testing/selftests/iommu/iommufd_utils.h): reads <paramref
    /// name="count"/> records of 8 + 4 bytes and checks each header against the previous sequence number. A LOST_EVENTS
    /// header or a gap gives EOVERFLOW, a payload with another virtual ID EINVAL, nothing to read EFAULT. Unlike the C
    /// utility (which always reads the first record's payload) each record's own payload is checked, and a lost-events
    /// header is taken as 8 bytes.
    /// </summary>
    public Errno ReadVevents(int fd, int count, uint virtId, ref int previousSequence)
    {
        int recordSize = Unsafe.SizeOf<IommufdVeventHeader>() + Unsafe.SizeOf<IommuViommuEventSelftest>();
        var buffer = new byte[count * recordSize];
        var rc = File.Read(fd, buffer, out int read);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (read <= 0)
        {
            return Errno.EFAULT;
        }

        int offset = 0;
        for (int i = 0; i < count && offset < read; i++)
        {
            var header = MemoryMarshal.Read<IommufdVeventHeader>(buffer.AsSpan(offset));
            offset += Unsafe.SizeOf<IommufdVeventHeader>();
            bool lost = (header.Flags & (uint)IommuVeventqFlags.LostEvents) != 0;
            if (lost || (int)header.Sequence - previousSequence > 1)
            {
                previousSequence = (int)header.Sequence;
                return Errno.EOVERFLOW;
            }

            previousSequence = (int)header.Sequence;
            var payload = MemoryMarshal.Read<IommuViommuEventSelftest>(buffer.AsSpan(offset));
            offset += Unsafe.SizeOf<IommuViommuEventSelftest>();
            if (payload.VirtId != virtId)
            {
                return Errno.EINVAL;
            }
        }

        return Errno.Success;
    }

    /// <summary>
    /// FIXTURE_SETUP(iommufd_viommu) with the mock variant (tools/testing/selftests/iommu/iommufd.c): a nest-parent
    /// HWPT, a SELFTEST vIOMMU on it without driver data, and a nested HWPT from the vIOMMU with the default IOTLB
    /// value.
    /// </summary>
    public (uint ParentId, uint ViommuId, uint NestedId) SetUpViommu()
    {
        uint parent = AllocPaging();
        Expect(AllocViommu(DevId, parent, (uint)IommuViommuType.Selftest, out uint viommu), "VIOMMU_ALLOC");
        uint nested = AllocNested(viommu);
        return (parent, viommu, nested);
    }

    /// <summary>
    /// Closes the file (destroying every object, as closing the fd does), unmaps the process's memory and disposes
    /// the machine. <see cref="AssertNoLeaks"/> can run afterwards.
    /// </summary>
    public void Dispose()
    {
        File.Dispose();
        foreach (var memfd in Process.Files)
        {
            memfd.Dispose();
        }

        foreach (var region in Process.Regions.ToList())
        {
            Process.Unmap(region);
        }

        _provider.Dispose();
    }

    /// <summary>
    /// After <see cref="Dispose"/>: every mock domain and vIOMMU was freed, and no physical page is left — neither
    /// the vIOMMU's mmap pages nor user pages kept alive by a leaked pin.
    /// </summary>
    public void AssertNoLeaks()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Mock.DomainCount, Is.Zero, "mock domains left after close");
            Assert.That(Mock.ViommuCount, Is.Zero, "mock vIOMMUs left after close");
            Assert.That(Memory.FrameCount, Is.Zero, "physical pages left after close");
        }
    }

    /// <summary>Setup steps must succeed; a failure there is reported as such, not as the row under test.</summary>
    public static void Expect(Errno rc, string step) => Assert.That(rc, Is.EqualTo(Errno.Success), step);
}
