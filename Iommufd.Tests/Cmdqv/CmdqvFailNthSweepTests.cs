using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// The fail_nth sweep (iommufd_fail_nth.c) over a VMM's TEGRA241_CMDQV set-up on SMMUv3: bind, IOAS map, nest
/// parent, vIOMMU with its VINTF, vDEVICE, VINTF mmap, vEVENTQ, nested HWPT, attach and HW queue. The n-th injection
/// point (core, SMMUv3 driver or CMDQV) fails, for every n until the sequence completes; the failing step leaves
/// the file's objects as they were, and once the file is closed and the process gone every object, pin, mmap,
/// frame and VINTF is back.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class CmdqvFailNthSweepTests(VcmdqBackend backend)
{
    private const ulong RamIpa = 0x4000_0000;

    [Test]
    public void Failing_each_point_of_the_CMDQV_set_up_once_leaves_nothing_behind()
    {
        using var rig = new CmdqvRig(backend);
        using var gauges = new LeakGauges(rig.Host);
        var start = gauges.Read();
        int n = 1;
        for (; n < 300; n++)
        {
            var process = rig.Host.CreateProcess();
            var ram = process.Map(1L << 20);
            var file = rig.Host.Open(process);
            MmioMapping? window = null;
            rig.Faults.Arm(n);
            string? failed = RunSequence(rig, file, ram.Address, ref window, out int objectsBefore);
            rig.Faults.Disarm();
            int objectsAfter = file.ObjectCount;
            window?.Dispose();
            file.Dispose();
            ProcessExit.UnmapAll(process);
            var left = gauges.Read();
            if (!rig.Faults.Fired)
            {
                Assert.That(failed, Is.Null, "the sequence completes when no point fails");
                break;
            }

            using (Assert.EnterMultipleScope())
            {
                Assert.That(failed, Is.Not.Null, $"point {n} fired but every step succeeded");
                Assert.That(objectsAfter, Is.EqualTo(objectsBefore), $"point {n} ({failed}): objects");
                Assert.That(left, Is.EqualTo(start), $"point {n} ({failed}): objects, pins, mmaps, frames, engine threads after close");
                Assert.That(Enumerable.Range(1, rig.Cmdqv.Vintfs.Count - 1).Select(v => rig.ReadVintf(v, CmdqvRegister.VINTF_CONFIG)), Is.All.Zero, $"point {n} ({failed}): every guest VINTF is free");
            }
        }

        TestContext.Out.WriteLine($"{n - 1} injection points swept");
        Assert.That(n, Is.GreaterThan(10), "the sequence reaches the driver's points too");
    }

    private static string? RunSequence(CmdqvRig rig, IommufdFile file, ulong ram, ref MmioMapping? window, out int objectsBefore)
    {
        uint dev = 0, ioas = 0, parent = 0, viommu = 0, nested = 0;
        var cmdqv = new IommuViommuTegra241Cmdqv();
        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = 1 | (StreamTableEntry.ConfigBypass << 1);
        MmioMapping? mapped = null;
        (string Name, Func<Errno> Step)[] steps =
        [
            ("bind", () => file.BindDevice(rig.Device("a"), out dev)),
            ("IOAS_ALLOC", () => file.IoasAlloc(out ioas)),
            ("IOAS_MAP", () =>
            {
                ulong iova = RamIpa;
                return file.IoasMap(ioas, ram, 1UL << 20, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova);
            }),
            ("HWPT_ALLOC nest parent", () => file.HwptAlloc(dev, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out parent)),
            ("VIOMMU_ALLOC", () => file.ViommuAlloc(dev, parent, IommuViommuType.Tegra241Cmdqv, MemoryMarshal.AsBytes(new Span<IommuViommuTegra241Cmdqv>(ref cmdqv)), out viommu)),
            ("VDEVICE_ALLOC", () => file.VdeviceAlloc(viommu, dev, 5, out _)),
            ("mmap", () => file.Mmap(cmdqv.OutVintfMmapOffset, cmdqv.OutVintfMmapLength, MmapProtection.ReadWriteShared, out mapped)),
            ("VEVENTQ_ALLOC", () => file.VeventqAlloc(viommu, IommuVeventqType.Tegra241Cmdqv, 4, out _, out _)),
            ("HWPT_ALLOC nested", () => file.HwptAlloc(dev, viommu, 0, IommuHwptDataType.ArmSmmuV3, MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste)), 0, out nested)),
            ("attach", () => file.AttachDevice(dev, ref nested)),
            ("HW_QUEUE_ALLOC", () => file.HwQueueAlloc(viommu, IommuHwQueueType.Tegra241Cmdqv, 0, RamIpa, 4096, out _)),
        ];
        try
        {
            foreach (var (name, step) in steps)
            {
                objectsBefore = file.ObjectCount;
                if (step() != Errno.Success)
                {
                    return name;
                }
            }

            objectsBefore = 0;
            return null;
        }
        finally
        {
            window = mapped;
        }
    }
}
