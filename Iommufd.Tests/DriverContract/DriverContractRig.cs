using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.DependencyInjection;

using Iommufd.Tests.Support;

namespace Iommufd.Tests.DriverContract;

/// <summary>
/// One emulated machine for a driver-contract test: the plugin's IOMMU with two devices behind it, both bound to an
/// open iommufd file; an IOAS that maps 8 MiB of "guest RAM" at IPA <see cref="GuestRamIpa"/>; scratch user memory
/// for ioctl arrays; and raw-ioctl helpers (a UAPI struct's bytes into <see cref="IommufdFile.Ioctl(uint, Span{byte})"/>,
/// the errno back), as a C VMM would drive the file.
/// </summary>
/// <remarks>
/// The first MiB of guest RAM holds the tests' DMA pages (<see cref="GuestPageIpa"/>); a plugin puts its guest
/// tables above it. The IPA range lies inside every plugin's aperture (the mock's ends at 2 GiB).
/// </remarks>
public sealed class DriverContractRig : IDisposable
{
    /// <summary>Where guest RAM sits in the IOAS (the guest's IPA, the nest parent's IOVA).</summary>
    public const ulong GuestRamIpa = 0x4000_0000;

    /// <summary>Guest RAM size.</summary>
    public const long GuestRamSize = 8L << 20;

    /// <summary>Pages at the start of guest RAM kept for the tests' DMA buffers.</summary>
    public const int TestPages = 256;

    private const int ScratchSize = 64 * 1024;

    private readonly ServiceProvider _provider;
    private readonly UserScratch _scratch;
    private bool _closed;

    public DriverContractRig(IDriverContractPlugin plugin)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        _provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                plugin.AddIommu(b);
                b.AddDevice("dev0", plugin.IommuName, streamId: 0x10);
                b.AddDevice("dev1", plugin.IommuName, streamId: 0x11);
            })
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Host = _provider.GetRequiredService<IommufdHost>();

        // Whatever the plugin allocated while probing (stream tables, queues) stays for the machine's lifetime.
        StartupFrameCount = Memory.FrameCount;
        Process = Host.CreateProcess();
        GuestRam = Process.Map(GuestRamSize);
        _scratch = new UserScratch(Process.Map(ScratchSize));
        File = Host.Open(Process);
        Device = Host.Platform.GetDevice("dev0");
        OtherDevice = Host.Platform.GetDevice("dev1");
        Expect(File.BindDevice(Device, out uint devId), "bind dev0");
        Expect(File.BindDevice(OtherDevice, out uint otherDevId), "bind dev1");
        DevId = devId;
        OtherDevId = otherDevId;

        var alloc = new IommuIoasAlloc();
        Expect(Raw(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc), "IOAS_ALLOC");
        IoasId = alloc.OutIoasId;
        Expect(MapAt(GuestRam, GuestRamIpa), "IOAS_MAP of guest RAM");
    }

    public IommufdHost Host { get; }

    public PhysicalMemory Memory => Host.Platform.Memory;

    /// <summary>Physical frames present once the plugin had probed its hardware, before any process memory.</summary>
    public int StartupFrameCount { get; }

    /// <summary>The VMM's address space: every user pointer of an ioctl resolves here.</summary>
    public UserMemory Process { get; }

    public IommufdFile File { get; }

    /// <summary>The device under test, bound as <see cref="DevId"/>.</summary>
    public EndpointDevice Device { get; }

    /// <summary>A second device behind the same IOMMU, bound as <see cref="OtherDevId"/>.</summary>
    public EndpointDevice OtherDevice { get; }

    public uint DevId { get; }

    public uint OtherDevId { get; }

    public uint IoasId { get; }

    /// <summary>Guest RAM as the VMM sees it; mapped in the IOAS at <see cref="GuestRamIpa"/>.</summary>
    public UserRegion GuestRam { get; }

    /// <summary>The IPA of test page <paramref name="page"/> (in the first MiB of guest RAM).</summary>
    public static ulong GuestPageIpa(int page)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(page);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(page, TestPages);
        return GuestRamIpa + ((ulong)page * PhysicalMemory.PageSize);
    }

    /// <summary>The VMM's view of test page <paramref name="page"/>.</summary>
    public Span<byte> GuestPage(int page) =>
        GuestRam.Span.Slice(page * PhysicalMemory.PageSize, PhysicalMemory.PageSize);

    /// <summary>Runs a command with <paramref name="cmd"/>'s bytes, its <c>size</c> set to the full struct.</summary>
    public Errno Raw<T>(uint request, ref T cmd)
        where T : unmanaged => File.Ioctl(request, ref cmd);

    /// <summary>Copies <paramref name="bytes"/> into scratch user memory and returns their address (8-byte aligned).</summary>
    public ulong Put(ReadOnlySpan<byte> bytes) => _scratch.Put(bytes);

    /// <summary>IOMMU_IOAS_MAP of all of <paramref name="region"/> at the fixed IOVA <paramref name="iova"/>, read/write.</summary>
    public Errno MapAt(UserRegion region, ulong iova)
    {
        ArgumentNullException.ThrowIfNull(region);
        var cmd = new IommuIoasMap
        {
            Flags = (uint)(IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable),
            IoasId = IoasId,
            UserVa = region.Address,
            Length = region.Length,
            Iova = iova,
        };
        return Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
    }

    public Errno Unmap(ulong iova, ulong length) => File.RawUnmap(IoasId, iova, length);

    public Errno Destroy(uint id) => File.RawDestroy(id);

    /// <summary>IOMMU_HWPT_ALLOC of a paging HWPT on the IOAS for <paramref name="devId"/>.</summary>
    public Errno AllocPaging(uint devId, IommuHwptAllocFlags flags, out uint hwptId) =>
        AllocHwpt(devId, IoasId, flags, IommuHwptDataType.None, [], out hwptId);

    /// <summary>IOMMU_HWPT_ALLOC with driver data copied into user memory.</summary>
    public Errno AllocHwpt(uint devId, uint ptId, IommuHwptAllocFlags flags, IommuHwptDataType dataType, ReadOnlySpan<byte> data, out uint hwptId)
    {
        var cmd = new IommuHwptAlloc
        {
            Flags = (uint)flags,
            DevId = devId,
            PtId = ptId,
            DataType = (uint)dataType,
            DataLen = (uint)data.Length,
            DataUptr = data.IsEmpty ? 0 : Put(data),
        };
        var rc = Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref cmd);
        hwptId = cmd.OutHwptId;
        return rc;
    }

    /// <summary>IOMMU_VIOMMU_ALLOC without driver data.</summary>
    public Errno AllocViommu(uint devId, uint hwptId, uint type, out uint viommuId)
    {
        var cmd = new IommuViommuAlloc { Type = type, DevId = devId, HwptId = hwptId };
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

    public Errno AllocVeventq(uint viommuId, IommuVeventqType type, uint depth, out uint veventqId)
    {
        var cmd = new IommuVeventqAlloc { ViommuId = viommuId, Type = (uint)type, VeventqDepth = depth };
        var rc = Raw(IommufdIoctl.IOMMU_VEVENTQ_ALLOC, ref cmd);
        veventqId = cmd.OutVeventqId;
        return rc;
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE with every field the caller may vary; <paramref name="entryNum"/> goes in as the count
    /// and comes back as the kernel wrote it.
    /// </summary>
    public Errno Invalidate(uint id, uint dataType, uint entryLen, ulong dataUptr, ref uint entryNum, uint reserved = 0)
    {
        var cmd = new IommuHwptInvalidate
        {
            HwptId = id,
            DataUptr = dataUptr,
            DataType = dataType,
            EntryLen = entryLen,
            EntryNum = entryNum,
            Reserved = reserved,
        };
        var rc = Raw(IommufdIoctl.IOMMU_HWPT_INVALIDATE, ref cmd);
        entryNum = cmd.EntryNum;
        return rc;
    }

    /// <summary>VFIO's attach of <paramref name="devId"/> to <paramref name="ptId"/>.</summary>
    public Errno Attach(uint devId, uint ptId) => File.AttachDevice(devId, ref ptId);

    /// <summary>
    /// Closes the file (destroying every object, as closing the fd does) and unmaps the process's memory, so that
    /// only frames still held by someone remain. Idempotent.
    /// </summary>
    public void CloseFileAndUnmapProcess()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        File.Dispose();
        ProcessExit.UnmapAll(Process);
    }

    public void Dispose()
    {
        CloseFileAndUnmapProcess();
        _provider.Dispose();
    }

    /// <summary>Setup steps must succeed; a failure there is reported as such, not as the case under test.</summary>
    public static void Expect(Errno rc, string step) => Assert.That(rc, Is.EqualTo(Errno.Success), $"setup: {step}");
}
