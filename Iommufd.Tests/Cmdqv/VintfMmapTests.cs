using System.Runtime.InteropServices;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// mmap of a VINTF's page 0 on the iommufd file (drivers/iommu/iommufd/main.c iommufd_fops_mmap()): exactly the
/// registered offset and length (else ENXIO), whole pages (EINVAL), shared (EINVAL), not executable (EPERM); a live
/// mapping keeps the vIOMMU from being destroyed (EBUSY).
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class VintfMmapTests(VcmdqBackend backend)
{
    private CmdqvRig _rig = null!;
    private CmdqvGuest _vm = null!;

    [SetUp]
    public void SetUp()
    {
        _rig = new CmdqvRig(backend);
        _vm = new CmdqvGuest(_rig, "a", 1, 3);
    }

    [TearDown]
    public void TearDown()
    {
        _vm.Dispose();
        _rig.Dispose();
    }

    [Test]
    public void The_registered_offset_and_length_map_read_write_shared()
    {
        Assert.That(_vm.File.Mmap(_vm.MmapOffset, _vm.MmapLength, MmapProtection.ReadWriteShared, out var second), Is.EqualTo(Errno.Success));
        second.Dispose();
    }

    [TestCase(0x1000L, 0L, TestName = "{m}(offset one page in)")]
    [TestCase(-0x10000L, 0L, TestName = "{m}(offset one window before)")]
    [TestCase(0x10000L, 0L, TestName = "{m}(offset one window after)")]
    [TestCase(0L, 0x1000L, TestName = "{m}(one page longer)")]
    [TestCase(0L, 0x10000L, TestName = "{m}(twice the length)")]
    [TestCase(0L, -0x1000L, TestName = "{m}(one page shorter)")]
    public void Anything_but_exactly_the_registered_range_is_ENXIO(long offsetDelta, long lengthDelta)
    {
        ulong offset = (ulong)((long)_vm.MmapOffset + offsetDelta);
        ulong length = (ulong)((long)_vm.MmapLength + lengthDelta);

        Assert.That(_vm.File.Mmap(offset, length, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.ENXIO));
    }

    [Test]
    public void A_length_is_rounded_up_to_whole_pages_and_an_offset_off_a_page_is_EINVAL()
    {
        // mm/mmap.c do_mmap() takes PAGE_ALIGN(len) (0 is EINVAL) and the syscall an offset in whole pages; main.c
        // iommufd_fops_mmap() then wants the registered length exactly.
        Assert.Multiple(() =>
        {
            Assert.That(_vm.File.Mmap(_vm.MmapOffset, _vm.MmapLength + 1, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.ENXIO), "one byte over is one page over");
            Assert.That(_vm.File.Mmap(_vm.MmapOffset + 1, _vm.MmapLength, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.EINVAL));
            Assert.That(_vm.File.Mmap(_vm.MmapOffset, 0, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.EINVAL));
            Assert.That(_vm.File.Mmap(_vm.MmapOffset, ulong.MaxValue, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.ENOMEM));
            Assert.That(_vm.File.Mmap(_vm.MmapOffset, _vm.MmapLength - 1, MmapProtection.ReadWriteShared, out var rounded), Is.EqualTo(Errno.Success), "one byte under rounds to the registered length");
            rounded?.Dispose();
        });
    }

    [Test]
    public void A_private_mapping_is_EINVAL()
    {
        Assert.That(_vm.File.Mmap(_vm.MmapOffset, _vm.MmapLength, MmapProtection.Read | MmapProtection.Write, out _), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void An_executable_mapping_is_EPERM()
    {
        Assert.That(_vm.File.Mmap(_vm.MmapOffset, _vm.MmapLength, MmapProtection.ReadWriteShared | MmapProtection.Exec, out _), Is.EqualTo(Errno.EPERM));
    }

    [Test]
    public void The_window_is_the_VINTFs_logical_queue_page_0()
    {
        _vm.AllocQueue(0);
        var q1 = _vm.AllocQueue(1);
        int global = (_vm.VintfIndex * _rig.Cmdqv.Features.LvcmdqsPerVintf) + 1;

        q1.Put(new Iommufd.ArmSmmuV3.Hardware.SmmuCommand(0x46, 0));
        q1.Ring();

        Assert.Multiple(() =>
        {
            Assert.That(_rig.Cmdqv.ReadRegister(CmdqvRegister.GlobalVcmdqPage0 + ((uint)global * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_PROD), Is.EqualTo(1u),
                "PROD at 0x80 × 1 of the window is global queue VINTF × N + 1");
            Assert.That(_vm.Window.Read32(CmdqvRegister.VcmdqStride + CmdqvRegister.VCMDQ_STATUS), Is.EqualTo(1u), "enabled by the guest");
            Assert.That(_vm.Window.Read32((2 * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_PROD), Is.Zero, "no queue 2: reads as zero");
        });
    }

    [Test]
    public void A_live_mapping_makes_destroying_the_vIOMMU_EBUSY_until_it_is_unmapped()
    {
        var data = new IommuViommuTegra241Cmdqv();
        Assert.That(_vm.File.ViommuAlloc(_vm.DevId, _vm.ParentId, IommuViommuType.Tegra241Cmdqv, MemoryMarshal.AsBytes(new Span<IommuViommuTegra241Cmdqv>(ref data)), out uint viommu), Is.EqualTo(Errno.Success));
        Assert.That(_vm.File.Mmap(data.OutVintfMmapOffset, data.OutVintfMmapLength, MmapProtection.ReadWriteShared, out var window), Is.EqualTo(Errno.Success));

        var whileMapped = _vm.File.Destroy(viommu);
        window.Dispose();
        var afterUnmap = _vm.File.Destroy(viommu);

        Assert.Multiple(() =>
        {
            Assert.That(whileMapped, Is.EqualTo(Errno.EBUSY));
            Assert.That(afterUnmap, Is.EqualTo(Errno.Success));
            Assert.That(_vm.File.Mmap(data.OutVintfMmapOffset, data.OutVintfMmapLength, MmapProtection.ReadWriteShared, out _), Is.EqualTo(Errno.ENXIO), "the range is gone with its vIOMMU");
            Assert.That(_vm.File.Mmap(_vm.MmapOffset, _vm.MmapLength, MmapProtection.ReadWriteShared, out var still), Is.EqualTo(Errno.Success), "the other vIOMMU's page is still there");
            still?.Dispose();
        });
    }
}
