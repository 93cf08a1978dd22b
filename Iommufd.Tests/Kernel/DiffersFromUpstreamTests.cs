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
    public void Rlimit_mode_set_is_never_EPERM()
    {
        // ioas.c iommufd_option_rlimit_mode(): SET needs CAP_SYS_RESOURCE (else EPERM); the emulation's caller always
        // has it, and pages.c's RLIMIT_MEMLOCK accounting is not modelled.
        using var host = new Support.TestHost();
        ulong one = 1;
        Assert.That(host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Set, 0, ref one), Is.EqualTo(Errno.Success));
    }
}
