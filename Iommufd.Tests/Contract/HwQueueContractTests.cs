using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd_viommu, hw_queue), newest form: tools/testing/selftests/iommu/iommufd.c, with the core's checks of
/// viommu.c and the mock's of selftest.c mock_hw_queue_init_phys(). Guest RAM pages are mapped into the vIOMMU's parent
/// IOAS as the selftest maps its buffer.
/// </summary>
[TestFixture]
public class HwQueueContractTests : MockContractTest
{
    private const ulong Page = MockFixture.PageSize;
    private const IommuHwQueueType Selftest = IommuHwQueueType.Selftest;

    private uint _viommu;

    [SetUp]
    public void SetUpViommu() => (_, _viommu, _) = Fx.SetUpViommu();

    [Test]
    public void The_DEFAULT_queue_type_is_EOPNOTSUPP()
    {
        var rc = Fx.AllocHwQueue(_viommu, IommuHwQueueType.Default, 0, SelftestConstants.MockApertureStart, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void A_queue_type_the_mock_does_not_know_is_EOPNOTSUPP()
    {
        var rc = Fx.AllocHwQueue(_viommu, IommuHwQueueType.Tegra241Cmdqv, 0, SelftestConstants.MockApertureStart, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void Length_0_is_EINVAL()
    {
        var rc = Fx.AllocHwQueue(_viommu, Selftest, 0, SelftestConstants.MockApertureStart, 0, out _);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void An_IOVA_range_that_wraps_is_EOVERFLOW()
    {
        var rc = Fx.AllocHwQueue(_viommu, Selftest, 0, ulong.MaxValue, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOVERFLOW));
    }

    [TestCase(1UL, ulong.MaxValue, TestName = "A queue whose page-offset plus length overflows is ERANGE")]
    [TestCase(0UL, ulong.MaxValue - 100, TestName = "A queue whose length rounded up to pages overflows is ERANGE")]
    public void A_range_whose_pages_cannot_be_counted_is_ERANGE(ulong iova, ulong length)
    {
        // viommu.c iommufd_hw_queue_alloc_phys(): offset + length, then + PAGE_SIZE - 1, must not overflow; both
        // ranges pass the EOVERFLOW check on iova + length - 1 first.
        var rc = Fx.AllocHwQueue(_viommu, Selftest, 0, iova, length, out _);

        Assert.That(rc, Is.EqualTo(Errno.ERANGE));
    }

    [Test]
    public void A_queue_in_memory_mapped_without_READABLE_is_EPERM_and_pins_nothing()
    {
        // viommu.c iommufd_hw_queue_alloc_phys() pins with flags 0: device.c iommufd_access_pin_pages() then needs
        // IOMMU_READ on every area (check_area_prot()).
        const ulong Iova = SelftestConstants.MockApertureStart;
        MockFixture.Expect(Fx.MapGuestRamAt(0, Page, Iova, IommuIoasMapFlags.Writeable), "map page 0 write-only");

        var rc = Fx.AllocHwQueue(_viommu, Selftest, 0, Iova, Page, out _);
        var unmap = Fx.Unmap(Iova, Page);

        Assert.That((rc, unmap), Is.EqualTo((Errno.EPERM, Errno.Success)), "refused, and the page is not left pinned");
    }

    [Test]
    public void An_IOVA_that_is_not_mapped_is_ENOENT()
    {
        var rc = Fx.AllocHwQueue(_viommu, Selftest, 0, SelftestConstants.MockApertureStart, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void Index_1_before_index_0_is_EIO()
    {
        ulong iova = MapTwoPages(out _);

        var rc = Fx.AllocHwQueue(_viommu, Selftest, 1, iova, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.EIO));
    }

    [Test]
    public void Index_IOMMU_TEST_HW_QUEUE_MAX_is_EINVAL()
    {
        ulong iova = MapTwoPages(out _);

        var rc = Fx.AllocHwQueue(_viommu, Selftest, SelftestConstants.HwQueueMax, iova, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void A_taken_index_is_EEXIST()
    {
        ulong iova = MapTwoPages(out ulong iova2);
        MockFixture.Expect(Fx.AllocHwQueue(_viommu, Selftest, 0, iova, Page, out _), "queue 0");

        var rc = Fx.AllocHwQueue(_viommu, Selftest, 0, iova2, Page, out _);

        Assert.That(rc, Is.EqualTo(Errno.EEXIST));
    }

    [Test]
    public void The_selftest_hw_queue_sequence_pins_pages_orders_queues_and_releases_everything()
    {
        ulong iova = MapTwoPages(out ulong iova2);

        var queue0 = Fx.AllocHwQueue(_viommu, Selftest, 0, iova, Page, out uint q0);
        var duplicate = Fx.AllocHwQueue(_viommu, Selftest, 0, iova, Page, out _);
        var unmapPinned = Fx.Unmap(iova, Page);
        var unmapUnpinned = Fx.Unmap(iova2, Page);
        var queue1 = Fx.AllocHwQueue(_viommu, Selftest, 1, iova + Page / 2, Page / 2, out uint q1);
        var destroy0First = Fx.Destroy(q0);
        var destroyViommu = Fx.Destroy(_viommu);
        var destroy1 = Fx.Destroy(q1);
        var destroy0 = Fx.Destroy(q0);
        var unmapFirst = Fx.Unmap(iova, Page);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(queue0, Is.EqualTo(Errno.Success));
            Assert.That(duplicate, Is.EqualTo(Errno.EEXIST));
            Assert.That(unmapPinned, Is.EqualTo(Errno.EBUSY));
            Assert.That(unmapUnpinned, Is.EqualTo(Errno.Success));
            Assert.That(queue1, Is.EqualTo(Errno.Success), "index 1, unaligned inside the pinned page");
            Assert.That(destroy0First, Is.EqualTo(Errno.EBUSY), "queue 1 depends on queue 0");
            Assert.That(destroyViommu, Is.EqualTo(Errno.EBUSY), "the queues hold the vIOMMU");
            Assert.That(destroy1, Is.EqualTo(Errno.Success));
            Assert.That(destroy0, Is.EqualTo(Errno.Success));
            Assert.That(unmapFirst, Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void A_destroyed_queue_frees_its_index_for_a_new_allocation()
    {
        ulong iova = MapTwoPages(out _);
        MockFixture.Expect(Fx.AllocHwQueue(_viommu, Selftest, 0, iova, Page, out uint q0), "queue 0");
        MockFixture.Expect(Fx.Destroy(q0), "destroy queue 0");

        var again = Fx.AllocHwQueue(_viommu, Selftest, 0, iova, Page, out _);
        var index1 = Fx.AllocHwQueue(_viommu, Selftest, 1, iova, Page, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(again, Is.EqualTo(Errno.Success));
            Assert.That(index1, Is.EqualTo(Errno.Success), "index 0 exists again");
        }
    }

    [Test]
    public void Queues_left_allocated_are_torn_down_in_a_working_order_when_the_file_closes()
    {
        // The base class checks afterwards that no pinned page survived the close.
        ulong iova = MapTwoPages(out _);
        MockFixture.Expect(Fx.AllocHwQueue(_viommu, Selftest, 0, iova, Page, out _), "queue 0");
        MockFixture.Expect(Fx.AllocHwQueue(_viommu, Selftest, 1, iova + Page, Page, out _), "queue 1");

        Assert.That(Fx.Unmap(0, ulong.MaxValue), Is.EqualTo(Errno.EBUSY), "both pages are pinned");
    }

    /// <summary>Maps guest RAM pages 0 and 1 as two separate mappings; returns their IOVAs.</summary>
    private ulong MapTwoPages(out ulong iova2)
    {
        MockFixture.Expect(Fx.MapGuestRam(0, Page, out ulong iova), "map page 0");
        MockFixture.Expect(Fx.MapGuestRam(Page, Page, out iova2), "map page 1");
        return iova;
    }
}
