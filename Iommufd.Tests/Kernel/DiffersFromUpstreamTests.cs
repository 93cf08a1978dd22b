using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// What the emulation does on purpose otherwise than the kernel, one test each, as README.md lists them ("Where this
/// differs from upstream").
/// </summary>
public class DiffersFromUpstreamTests
{
    [Test]
    public void Hwpt_alloc_refuses_a_non_zero_reserved2_which_hw_pagetable_c_ignores()
    {
        // hw_pagetable.c iommufd_hwpt_alloc() checks __reserved only; the header says __reserved2 must be 0 too.
        using var fx = new MockFixture();
        var cmd = new IommuHwptAlloc { DevId = fx.DevId, PtId = fx.IoasId, Reserved2 = 1 };
        Assert.Multiple(() =>
        {
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref cmd), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(fx.File.ObjectCount, Is.EqualTo(2), "the device and the IOAS only");
        });
    }

    [Test]
    public void Set_dirty_tracking_refuses_a_non_zero_reserved_which_hw_pagetable_c_ignores()
    {
        // hw_pagetable.c iommufd_hwpt_set_dirty_tracking() checks flags only; without the reserved check the
        // unknown HWPT would be ENOENT.
        using var fx = new MockFixture();
        var cmd = new IommuHwptSetDirtyTracking { HwptId = 999, Reserved = 1 };
        Assert.That(fx.Raw(IommufdIoctl.IOMMU_HWPT_SET_DIRTY_TRACKING, ref cmd), Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void Get_dirty_bitmap_reports_the_walks_errors_which_io_pagetable_c_drops()
    {
        // io_pagetable.c iommu_read_and_clear_dirty() ignores iova_bitmap_for_each()'s result and returns 0: a range with
        // a hole, a domain whose tracking is off (selftest.c mock_domain_read_and_clear_dirty() EINVAL) and a bitmap
        // window that cannot be pinned later on all "succeed" upstream, and a first window that cannot be pinned is
        // ENOMEM (IS_ERR(iova_bitmap_alloc())). Here each is refused with what the failing step said.
        using var fx = DirtyTrackingTests.DirtyRig(out uint hwpt);
        ulong bitmap = fx.Put(new ulong[1]);
        var trackingOff = DirtyTrackingTests.GetDirty(fx, hwpt, SelftestConstants.MockApertureStart, MockFixture.PageSize, MockFixture.PageSize, bitmap);
        MockFixture.Expect(DirtyTrackingTests.SetDirty(fx, hwpt, 1), "on");
        var hole = DirtyTrackingTests.GetDirty(fx, hwpt, SelftestConstants.MockApertureStart, 8 * MockFixture.PageSize, MockFixture.PageSize, bitmap);
        var unwritable = DirtyTrackingTests.GetDirty(fx, hwpt, SelftestConstants.MockApertureStart, MockFixture.PageSize, MockFixture.PageSize, 0x10_0000);
        Assert.Multiple(() =>
        {
            Assert.That(trackingOff, Is.EqualTo(Errno.EINVAL));
            Assert.That(hole, Is.EqualTo(Errno.EINVAL));
            Assert.That(unwritable, Is.EqualTo(Errno.EFAULT));
        });
    }

    [Test]
    public void Shrinking_a_mapped_memfd_zeroes_what_a_device_reads_where_the_kernel_keeps_the_pinned_pages()
    {
        // mm/shmem.c shmem_truncate_range() drops whole pages past the new size from the file; a page memfd_pin_folios()
        // pinned for a domain (pages.c pin_memfd_pages()) lives on with its old contents, so a device still reads them.
        // The emulated memfd's pages are its own storage, so the shrink zeroes them under the device too.
        using var fx = new MockFixture();
        using var memfd = fx.Process.CreateMemfd();
        MockFixture.Expect(memfd.Truncate(2 * (long)MockFixture.PageSize), "ftruncate");
        MockFixture.Expect(memfd.Write((long)MockFixture.PageSize, "kept"u8, out _), "pwrite");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        ulong iova = SelftestConstants.MockApertureStart;
        MockFixture.Expect(fx.MapFileAt(fx.IoasId, memfd.Fd, 0, 2 * MockFixture.PageSize, iova), "MAP_FILE");
        var before = new byte[4];
        var after = new byte[4];

        var first = fx.Device.DmaRead(iova + MockFixture.PageSize, before);
        MockFixture.Expect(memfd.Truncate((long)MockFixture.PageSize), "shrink under the pin");
        var read = fx.Device.DmaRead(iova + MockFixture.PageSize, after);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((first, before), Is.EqualTo((DmaStatus.Ok, "kept"u8.ToArray())));
            Assert.That(read, Is.EqualTo(DmaStatus.Ok), "the pinned page is still mapped");
            Assert.That(after, Is.EqualTo(new byte[4]), "zeroed here; the kernel's device would still read \"kept\"");
        }
    }

    [Test]
    public void An_emulated_memfd_is_reached_only_through_its_fd_calls_with_no_mmap_and_no_seals()
    {
        // mm/memfd.c memfd_create() files can be mmapped (shmem_mmap()) and sealed (memfd_add_seals()); the emulated
        // process has neither call: no UserMemory operation takes the file, and the file offers only ftruncate,
        // pwrite, pread, fstat's size and close.
        var takesFile = typeof(UserMemory).GetMethods().Where(m => m.GetParameters().Any(p => p.ParameterType == typeof(MemoryFile)));
        var fileCalls = typeof(MemoryFile).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName).Select(m => m.Name).Distinct().Order();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(takesFile, Is.Empty, "no mmap of a memfd into the process");
            Assert.That(fileCalls, Is.EqualTo(new[] { "Dispose", "Read", "Truncate", "Write" }), "no seals either");
        }
    }
}
