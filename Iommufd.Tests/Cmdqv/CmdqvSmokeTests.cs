using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Cmdqv;

/// <summary>A guest's direct VCMDQ end to end, on the hardware model and on the software VCMDQ.</summary>
public class CmdqvSmokeTests
{
    [TestCase(VcmdqBackend.Hardware)]
    [TestCase(VcmdqBackend.Software)]
    public void A_guest_TLBI_written_to_its_own_queue_invalidates_the_IOTLB(VcmdqBackend backend)
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddTegra241Cmdqv("smmu0", o => o.Backend = backend).AddDevice("a", "smmu0", 0x10))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = (SmmuV3Host)host.Platform.Iommus.Single();
        var device = host.Platform.GetDevice("a");
        var process = host.CreateProcess();
        var ram = new GuestRam(process.Map(8L << 20), 0x4000_0000);
        using var file = host.Open(process);
        Assert.That(file.BindDevice(device, out uint devId), Is.EqualTo(Errno.Success));
        file.IoasAlloc(out uint ioas);
        ulong iova = 0x4000_0000;
        file.IoasMap(ioas, ram.Region.Address, ram.Region.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova);
        file.HwptAlloc(devId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent);

        var data = new IommuViommuTegra241Cmdqv();
        var rc = file.ViommuAlloc(devId, parent, IommuViommuType.Tegra241Cmdqv, MemoryMarshal.AsBytes(new Span<IommuViommuTegra241Cmdqv>(ref data)), out uint viommu);
        Assert.That(rc, Is.EqualTo(Errno.Success));
        Assert.That(file.VdeviceAlloc(viommu, devId, 5, out _), Is.EqualTo(Errno.Success));
        Assert.That(file.Mmap(data.OutVintfMmapOffset, data.OutVintfMmapLength, MmapProtection.ReadWriteShared, out var window), Is.EqualTo(Errno.Success));

        // Guest stage 1 and a cached translation.
        var table = new AArch64PageTable(ram, TableFormat.ForInputBits(TranslationGranule.Size4K, 48), stage2: false);
        ulong cdIpa = ram.Allocate(64, 64);
        new ContextDescriptor(16UL | (1UL << 30) | (1UL << 31) | (5UL << 32) | (1UL << 41) | (1UL << 45) | (1UL << 46) | (3UL << 48), table.Root, 0, 0).Write(ram.Bytes(cdIpa, 64));
        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = 1 | (StreamTableEntry.ConfigS1Translate << 1) | cdIpa;
        file.HwptAlloc(devId, viommu, 0, IommuHwptDataType.ArmSmmuV3, MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste)), 0, out uint nested);
        uint pt = nested;
        Assert.That(file.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
        ulong page = ram.Allocate(4096, 4096);
        table.Map(0x7000, page, 4096, IommuProtection.Read);
        var b = new byte[4];
        Assert.That(device.DmaRead(0x7000, b), Is.EqualTo(DmaStatus.Ok));
        table.Unmap(0x7000, 4096);

        // The guest's queue: 64 entries in its RAM, allocated as HW queue 0 and enabled through the window.
        ulong queueIpa = ram.Allocate(1024, 1024);
        Assert.That(file.HwQueueAlloc(viommu, IommuHwQueueType.Tegra241Cmdqv, 0, queueIpa, 1024, out _), Is.EqualTo(Errno.Success));
        window.Write32(CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
        SmmuCommandBuilder.TlbiNhVa(vmid: 0, asid: 3, address: 0x7000, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0).Write(ram.Bytes(queueIpa, 16));
        SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE).Write(ram.Bytes(queueIpa + 16, 16));
        window.Write32(CmdqvRegister.VCMDQ_PROD, 2);

        Assert.Multiple(() =>
        {
            Assert.That(window.Read32(CmdqvRegister.VCMDQ_CONS), Is.EqualTo(2u));
            Assert.That(device.DmaRead(0x7000, b), Is.EqualTo(DmaStatus.TranslationFault));
        });
        window.Dispose();
    }
}
