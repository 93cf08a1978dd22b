using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Vmm;

namespace Iommufd.Tests.ArmSmmuV3.Isolation;

/// <summary>
/// One VM on an SMMUv3: its own VMM process and iommufd file, guest RAM as the nest parent, a vIOMMU, a vDEVICE
/// and a guest stage 1 (CD + tables in guest RAM) attached to its device.
/// </summary>
internal sealed class SmmuGuest : IDisposable
{
    public const ulong RamIpa = 0x4000_0000;
    private const long RamSize = 8L << 20;

    public SmmuGuest(IommufdHost host, EndpointDevice device, uint vsid, ushort asid)
    {
        Device = device;
        Vsid = vsid;
        Asid = asid;
        var process = host.CreateProcess();
        Ram = new GuestRam(process.Map(RamSize), RamIpa);
        File = host.Open(process);
        Expect(File.BindDevice(device, out DevId));
        Expect(File.IoasAlloc(out IoasId));
        ulong iova = RamIpa;
        Expect(File.IoasMap(IoasId, Ram.Region.Address, (ulong)RamSize, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova));
        Expect(File.HwptAlloc(DevId, IoasId, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent));
        Expect(File.ViommuAlloc(DevId, parent, IommuViommuType.ArmSmmuV3, default, out ViommuId));
        Expect(File.VdeviceAlloc(ViommuId, DevId, vsid, out _));
        Table = new AArch64PageTable(Ram, TableFormat.ForInputBits(TranslationGranule.Size4K, 48), stage2: false);
        ulong cdIpa = Ram.Allocate(64, 64);
        new ContextDescriptor(
            16UL | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 30) | (1UL << 31) | (5UL << 32) | (1UL << 41) | (1UL << 45) | (1UL << 46) | ((ulong)asid << 48),
            Table.Root, 0, 0).Write(Ram.Bytes(cdIpa, 64));
        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = 1 | (StreamTableEntry.ConfigS1Translate << 1) | cdIpa;
        var data = MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste));
        Expect(File.HwptAlloc(DevId, ViommuId, 0, IommuHwptDataType.ArmSmmuV3, data, 0, out uint nested));
        uint pt = nested;
        Expect(File.AttachDevice(DevId, ref pt));
        Entries = File.Memory.Map(64 * 1024);
    }

    public EndpointDevice Device { get; }

    public uint Vsid { get; }

    public ushort Asid { get; }

    public GuestRam Ram { get; }

    public IommufdFile File { get; }

    public uint ViommuId;

    public uint DevId;

    /// <summary>The IOAS holding the guest's RAM (the nest parent's mappings).</summary>
    public uint IoasId;

    public AArch64PageTable Table { get; }

    /// <summary>VMM memory the invalidation arrays are written to (the ioctl's data_uptr).</summary>
    public global::Iommufd.Core.Memory.UserRegion Entries { get; }

    /// <summary>Maps <paramref name="pages"/> pages at <paramref name="va"/> and touches each by DMA to fill the caches.</summary>
    public void MapAndTouch(ulong va, int pages)
    {
        ulong ipa = Ram.Allocate((ulong)pages * 4096, 4096);
        Table.Map(va, ipa, (ulong)pages * 4096, IommuProtection.Read | IommuProtection.Write);
        Span<byte> b = stackalloc byte[8];
        for (int i = 0; i < pages; i++)
        {
            Assert.That(Device.DmaRead(va + ((ulong)i * 4096), b), Is.EqualTo(DmaStatus.Ok));
        }
    }

    /// <summary>IOMMU_HWPT_INVALIDATE through the raw ioctl with <paramref name="commands"/> as the entries.</summary>
    public Errno Invalidate(ReadOnlySpan<SmmuCommand> commands, out uint entryNum)
    {
        var bytes = Entries.Span;
        for (int i = 0; i < commands.Length; i++)
        {
            commands[i].Write(bytes[(i * 16)..]);
        }

        var cmd = new IommuHwptInvalidate
        {
            Size = (uint)Unsafe.SizeOf<IommuHwptInvalidate>(), HwptId = ViommuId, DataUptr = Entries.Address,
            DataType = (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, EntryLen = 16, EntryNum = (uint)commands.Length,
        };
        var rc = File.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, MemoryMarshal.AsBytes(new Span<IommuHwptInvalidate>(ref cmd)));
        entryNum = cmd.EntryNum;
        return rc;
    }

    public void Dispose() => File.Dispose();

    private static void Expect(Errno rc) => Assert.That(rc, Is.EqualTo(Errno.Success));
}
