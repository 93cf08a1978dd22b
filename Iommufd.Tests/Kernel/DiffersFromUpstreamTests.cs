using Iommufd.Core;
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
}
