using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Vmm;
using Iommufd.Tests.ArmSmmuV3;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>End to end: a guest stage 1 on a host stage 2, through the typed iommufd API and the SMMUv3 plugin.</summary>
public class NestedSmmuTests
{
    private const ulong GuestRamIpa = 0x4000_0000;
    private const long GuestRamSize = 8L << 20;
    private const uint Vsid = 0x21;
    private const ushort Asid = 7;

    private sealed class Bench : IDisposable
    {
        private readonly ServiceProvider _provider;

        public Bench()
        {
            _provider = new ServiceCollection()
                .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("nic0", "smmu0", streamId: 0x10, atsCapable: false))
                .BuildServiceProvider();
            var host = _provider.GetRequiredService<IommufdHost>();
            Smmu = (SmmuV3Host)host.Platform.Iommus.Single();
            Device = host.Platform.GetDevice("nic0");
            var process = host.CreateProcess();
            Ram = new GuestRam(process.Map(GuestRamSize), GuestRamIpa);
            File = host.Open(process);
        }

        public SmmuV3Host Smmu { get; }

        public EndpointDevice Device { get; }

        public GuestRam Ram { get; }

        public IommufdFile File { get; }

        public uint DevId, IoasId, ParentId, ViommuId, NestedId;

        public AArch64PageTable GuestTable = null!;

        public void Dispose()
        {
            File.Dispose();
            _provider.Dispose();
        }

        public void SetUp()
        {
            Expect(File.BindDevice(Device, out DevId));
            Expect(File.IoasAlloc(out IoasId));
            ulong iova = GuestRamIpa;
            Expect(File.IoasMap(IoasId, Ram.Region.Address, (ulong)GuestRamSize, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova));
            Expect(File.HwptAlloc(DevId, IoasId, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out ParentId));
            Expect(File.ViommuAlloc(DevId, ParentId, IommuViommuType.ArmSmmuV3, default, out ViommuId));
            Expect(File.VdeviceAlloc(ViommuId, DevId, Vsid, out _));

            // The guest: stage-1 tables and a CD in its RAM, and a vSTE pointing at the CD.
            GuestTable = new AArch64PageTable(Ram, TableFormat.ForInputBits(TranslationGranule.Size4K, 48), stage2: false);
            ulong cdIpa = Ram.Allocate(64, 64);
            var cd = new ContextDescriptor(
                16UL /* T0SZ */ | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 30) /* EPD1 */ | (1UL << 31) /* V */ | (5UL << 32) /* IPS */
                | (1UL << 41) /* AA64 */ | (1UL << 45) /* R */ | (1UL << 46) /* A */ | ((ulong)Asid << 48),
                GuestTable.Root, 0, 0);
            cd.Write(Ram.Bytes(cdIpa, 64));
            var vste = new IommuHwptArmSmmuV3();
            vste.Ste[0] = 1 | (StreamTableEntry.ConfigS1Translate << 1) | cdIpa;
            var data = MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste));
            Expect(File.HwptAlloc(DevId, ViommuId, 0, IommuHwptDataType.ArmSmmuV3, data, 0, out NestedId));
            uint pt = NestedId;
            Expect(File.AttachDevice(DevId, ref pt));
        }

        public Errno Invalidate(params SmmuCommand[] commands) => InvalidateThrough(File, ViommuId, commands);

        private static void Expect(Errno rc) => Assert.That(rc, Is.EqualTo(Errno.Success));
    }

    /// <summary>One IOMMU_HWPT_INVALIDATE of <paramref name="commands"/> on an SMMUv3 vIOMMU.</summary>
    internal static Errno InvalidateThrough(IommufdFile file, uint viommuId, params SmmuCommand[] commands)
    {
        var bytes = new byte[commands.Length * 16];
        for (int i = 0; i < commands.Length; i++)
        {
            commands[i].Write(bytes.AsSpan(i * 16));
        }

        uint n = (uint)commands.Length;
        return file.HwptInvalidate(viommuId, (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, 16, bytes, ref n);
    }

    [Test]
    public void Dma_goes_through_the_guest_stage_1_and_the_host_stage_2()
    {
        using var b = new Bench();
        b.SetUp();
        ulong bufferIpa = b.Ram.Allocate(4096, 4096);
        b.GuestTable.Map(0x1234_5000, bufferIpa, 4096, IommuProtection.Read | IommuProtection.Write);
        var data = new byte[] { 1, 2, 3, 4 };
        var status = b.Device.DmaWrite(0x1234_5010, data);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Ok));
            Assert.That(b.Ram.Bytes(bufferIpa + 0x10, 4).ToArray(), Is.EqualTo(data));
        });
    }

    [Test]
    public void A_stale_translation_is_used_until_the_guest_invalidates_it_through_the_vIOMMU()
    {
        using var b = new Bench();
        b.SetUp();
        ulong bufferIpa = b.Ram.Allocate(4096, 4096);
        b.GuestTable.Map(0x1234_5000, bufferIpa, 4096, IommuProtection.Read | IommuProtection.Write);
        var scratch = new byte[4];
        Assert.That(b.Device.DmaRead(0x1234_5000, scratch), Is.EqualTo(DmaStatus.Ok));
        b.GuestTable.Unmap(0x1234_5000, 4096);
        Assert.That(b.Device.DmaRead(0x1234_5000, scratch), Is.EqualTo(DmaStatus.Ok), "the IOTLB still holds it");

        var rc = b.Invalidate(SmmuCommandBuilder.TlbiNhVa(vmid: 0, asid: Asid, address: 0x1234_5000, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0));
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(b.Device.DmaRead(0x1234_5000, scratch), Is.EqualTo(DmaStatus.TranslationFault));
        });
    }

    [Test]
    public void A_refused_entry_reports_exactly_the_entries_issued_before_it()
    {
        using var b = new Bench();
        b.SetUp();
        ulong bufferIpa = b.Ram.Allocate(4096, 4096);
        b.GuestTable.Map(0x5000, bufferIpa, 4096, IommuProtection.Read);
        var scratch = new byte[4];
        b.Device.DmaRead(0x5000, scratch);
        b.GuestTable.Unmap(0x5000, 4096);

        var entries = new[]
        {
            SmmuCommandBuilder.TlbiNhAsid(0, Asid),
            SmmuCommandBuilder.CfgiSte(Vsid, leaf: true), // not forwardable: the VMM handles CFGI_STE itself
            SmmuCommandBuilder.TlbiNsnhAll(),
        };
        var bytes = new byte[48];
        for (int i = 0; i < 3; i++)
        {
            entries[i].Write(bytes.AsSpan(i * 16));
        }

        uint n = 3;
        var rc = b.File.HwptInvalidate(b.ViommuId, (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, 16, bytes, ref n);
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.EIO));
            Assert.That(n, Is.EqualTo(1u));
            Assert.That(b.Device.DmaRead(0x5000, scratch), Is.EqualTo(DmaStatus.TranslationFault), "entry 0 was issued and completed");
        });
    }
}

/// <summary>Faults and ATC timeouts as the VMM sees them.</summary>
public class SmmuGuestErrorTests
{
    [Test]
    public void A_guest_fault_reaches_the_vEVENTQ_with_the_virtual_StreamID()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("a", "smmu0", streamId: 0x10))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var guest = new Isolation.SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 0x42, asid: 3);
        Assert.That(guest.File.VeventqAlloc(guest.ViommuId, IommuVeventqType.ArmSmmuV3, 8, out _, out int fd), Is.EqualTo(Errno.Success));

        var scratch = new byte[4];
        Assert.That(guest.Device.DmaWrite(0xdead_0000, scratch), Is.EqualTo(DmaStatus.TranslationFault));

        var buffer = new byte[64];
        Assert.That(guest.File.Read(fd, buffer, out int count), Is.EqualTo(Errno.Success));
        var record = SmmuEvent.Read(buffer.AsSpan(8));
        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(8 + 32));
            Assert.That(record.Id, Is.EqualTo(SmmuEventId.F_TRANSLATION));
            Assert.That(record.StreamId, Is.EqualTo(0x42u), "the physical SID 0x10 is rewritten to the vSID");
            Assert.That(record.InputAddress, Is.EqualTo(0xdead_0000ul));
            Assert.That(record.IsRead, Is.False);
        });
    }

    [Test]
    public void An_ATC_invalidation_the_device_never_completes_is_ETIMEDOUT_with_nothing_of_its_chunk_counted()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("a", "smmu0", streamId: 0x10, atsCapable: true))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var guest = new Isolation.SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 1, asid: 3);
        guest.Device.AtsInvalidationsTimeOut = true;

        var commands = new[]
        {
            SmmuCommandBuilder.TlbiNhAsid(0, 3),
            SmmuCommandBuilder.AtcInv(1, 0, ssv: false, global: false, address: 0, size: 52),
        };
        var rc = guest.Invalidate(commands, out uint entryNum);
        guest.Device.AtsInvalidationsTimeOut = false;
        var after = guest.Invalidate(commands, out uint entryNumAfter);
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(entryNum, Is.Zero);
            Assert.That(after, Is.EqualTo(Errno.Success), "the host queue recovered");
            Assert.That(entryNumAfter, Is.EqualTo(2u));
        });
    }
}
