using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Diagnostics;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Support;
using Iommufd.Vmm;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// One VM whose vIOMMU is a TEGRA241_CMDQV: its own VMM process and iommufd file, guest RAM as the nest parent,
/// the vIOMMU with its VINTF page mmapped, a vDEVICE (the SID pair vSID → pSID), a guest stage 1 (CD with
/// <see cref="Asid"/>, EATS on) attached to the device, and optionally a TEGRA241_CMDQV vEVENTQ.
/// </summary>
internal sealed class CmdqvGuest : IDisposable
{
    public const ulong RamIpa = 0x4000_0000;
    public const long RamSize = 4L << 20;

    private readonly PolledPage? _page;

    public CmdqvGuest(CmdqvRig rig, string device, uint vsid, ushort asid, bool veventq = true)
    {
        Rig = rig;
        Device = rig.Device(device);
        Vsid = vsid;
        Asid = asid;
        var process = rig.Host.CreateProcess();
        Ram = new GuestRam(process.Map(RamSize), RamIpa);
        File = rig.Host.Open(process);
        Expect(File.BindDevice(Device, out DevId));
        Expect(File.IoasAlloc(out IoasId));
        ulong iova = RamIpa;
        Expect(File.IoasMap(IoasId, Ram.Region.Address, (ulong)RamSize, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova));
        Expect(File.HwptAlloc(DevId, IoasId, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out ParentId));

        var data = new IommuViommuTegra241Cmdqv();
        Expect(File.ViommuAlloc(DevId, ParentId, IommuViommuType.Tegra241Cmdqv, MemoryMarshal.AsBytes(new Span<IommuViommuTegra241Cmdqv>(ref data)), out ViommuId));
        MmapOffset = data.OutVintfMmapOffset;
        MmapLength = data.OutVintfMmapLength;
        Expect(File.VdeviceAlloc(ViommuId, DevId, vsid, out VdeviceId));
        Expect(File.Mmap(MmapOffset, MmapLength, MmapProtection.ReadWriteShared, out var window));
        Window = window;
        _page = rig.PolledPages ? new PolledPage(window) : null;
        if (veventq)
        {
            Expect(File.VeventqAlloc(ViommuId, IommuVeventqType.Tegra241Cmdqv, 16, out VeventqId, out EventFd));
        }

        // Guest stage 1: a CD with the ASID and EATS = 1 in the guest STE, so translations reach the ATC too.
        Table = new AArch64PageTable(Ram, TableFormat.ForInputBits(TranslationGranule.Size4K, 48), stage2: false);
        ulong cdIpa = Ram.Allocate(64, 64);
        new ContextDescriptor(
            16UL | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 30) | (1UL << 31) | (5UL << 32) | (1UL << 41) | (1UL << 45) | (1UL << 46) | ((ulong)asid << 48),
            Table.Root, 0, 0).Write(Ram.Bytes(cdIpa, 64));
        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = 1 | (StreamTableEntry.ConfigS1Translate << 1) | cdIpa;
        vste.Ste[1] = 1UL << 28; // EATS = 1
        Expect(File.HwptAlloc(DevId, ViommuId, 0, IommuHwptDataType.ArmSmmuV3, MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste)), 0, out NestedId));
        uint pt = NestedId;
        Expect(File.AttachDevice(DevId, ref pt));

        VintfIndex = FindVintf(rig.CmdqvDiagnostics, vsid, Device.StreamId);
    }

    public CmdqvRig Rig { get; }

    public EndpointDevice Device { get; }

    public uint Vsid { get; }

    public ushort Asid { get; }

    public GuestRam Ram { get; }

    public IommufdFile File { get; }

    public AArch64PageTable Table { get; }

    public MmioMapping Window { get; }

    /// <summary>What the guest driver accesses its VINTF page through: the polled real page when the rig asks for one, else <see cref="Window"/>.</summary>
    public IMmioRegion Registers => _page ?? (IMmioRegion)Window;

    public ulong MmapOffset { get; }

    public ulong MmapLength { get; }

    /// <summary>The VINTF the host gave this VM (the one whose SID pair holds this VM's device).</summary>
    public int VintfIndex { get; }

    /// <summary>The VMID the VINTF applies to the VM's commands (VINTF CONFIG.VMID).</summary>
    public ushort Vmid => Rig.CmdqvDiagnostics.Vintfs()[VintfIndex].Vmid;

    public uint DevId;

    public uint IoasId;

    public uint ParentId;

    public uint ViommuId;

    public uint VdeviceId;

    public uint NestedId;

    public uint VeventqId;

    public int EventFd = -1;

    /// <summary>This VM's IOTLB entries.</summary>
    public List<TlbEntry> Iotlb => Rig.IotlbOf(Vmid);

    /// <summary>How many translations the VM's device holds in its ATC.</summary>
    public int AtcCount => Rig.Diagnostics.AtcEntries(Device.StreamId).Length;

    /// <summary>The VM's device's ATC entries, in input order.</summary>
    public List<TlbEntry> AtcEntries => [.. Rig.Diagnostics.AtcEntries(Device.StreamId).Select(e => e.Translation).OrderBy(e => e.InputBase)];

    /// <summary>Maps <paramref name="pages"/> pages at <paramref name="va"/> and touches each by DMA to fill the IOTLB and ATC.</summary>
    public void MapAndTouch(ulong va, int pages)
    {
        ulong ipa = Ram.Allocate((ulong)pages * 4096, 4096);
        Table.Map(va, ipa, (ulong)pages * 4096, IommuProtection.Read | IommuProtection.Write);
        Touch(va, pages);
    }

    /// <summary>DMA-reads each page again (refills what an invalidation removed).</summary>
    public void Touch(ulong va, int pages)
    {
        Span<byte> b = stackalloc byte[8];
        for (int i = 0; i < pages; i++)
        {
            Expect(Device.DmaRead(va + ((ulong)i * 4096), b));
        }
    }

    /// <summary>Whether the device's DMA read at <paramref name="va"/> succeeds.</summary>
    public DmaStatus Dma(ulong va)
    {
        Span<byte> b = stackalloc byte[8];
        return Device.DmaRead(va, b);
    }

    /// <summary>True when the IOTLB holds this VM's translation of <paramref name="va"/>.</summary>
    public bool Cached(ulong va) => Iotlb.Any(e => e.InputBase <= va && va <= e.InputLast);

    /// <summary>
    /// HW_QUEUE_ALLOC of LVCMDQ <paramref name="index"/> with 2^<paramref name="log2Entries"/> entries in guest RAM,
    /// enabled through the window as a guest driver does.
    /// </summary>
    public GuestVcmdq AllocQueue(uint index, int log2Entries = 6)
    {
        ulong length = 16UL << log2Entries;
        ulong ipa = Ram.Allocate(length, length);
        Expect(File.HwQueueAlloc(ViommuId, IommuHwQueueType.Tegra241Cmdqv, index, ipa, length, out uint id));
        var queue = new GuestVcmdq(this, index, id, ipa, log2Entries);
        queue.Enable();
        return queue;
    }

    /// <summary>Reads every vEVENT record waiting on the vEVENTQ: (header, 128-bit LVCMDQ_ERR_MAP).</summary>
    public List<(IommufdVeventHeader Header, UInt128 Map)> ReadEvents()
    {
        var events = new List<(IommufdVeventHeader, UInt128)>();
        var buffer = new byte[24 * 16];
        Expect(File.Read(EventFd, buffer, out int count));
        for (int at = 0; at + 24 <= count; at += 24)
        {
            var header = MemoryMarshal.Read<IommufdVeventHeader>(buffer.AsSpan(at));
            var payload = MemoryMarshal.Read<IommuVeventTegra241Cmdqv>(buffer.AsSpan(at + 8));
            events.Add((header, ((UInt128)payload.LvcmdqErrMap[1] << 64) | payload.LvcmdqErrMap[0]));
        }

        Assert.That(count % 24, Is.Zero, "records are an 8-byte header and a 16-byte LVCMDQ_ERR_MAP");
        return events;
    }

    public void Dispose()
    {
        _page?.Dispose();
        if (Window.IsMapped)
        {
            Window.Dispose();
        }

        File.Dispose();
        ProcessExit.UnmapAll(File.Memory); // the VMM process ends too
    }

    private static int FindVintf(CmdqvDiagnostics cmdqv, uint vsid, uint psid)
    {
        var vintfs = cmdqv.Vintfs();
        for (int v = 1; v < vintfs.Length; v++)
        {
            var vintf = vintfs[v];
            for (int s = 0; s < vintf.SidMatch.Length; s++)
            {
                if (vintf.SidMatch[s] == ((vsid << 1) | 1) && vintf.SidReplace[s] == psid)
                {
                    return v;
                }
            }
        }

        throw new InvalidOperationException("no VINTF holds the VM's SID pair");
    }

    private static void Expect(Errno rc) => Assert.That(rc, Is.EqualTo(Errno.Success));

    private static void Expect(DmaStatus status) => Assert.That(status, Is.EqualTo(DmaStatus.Ok));
}
