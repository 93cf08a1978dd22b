using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd_ioas, alloc_hwpt_nested), allocation half: tools/testing/selftests/iommu/iommufd.c, mock_domain
/// variant (and no_domain for the "without a device" row). Every row goes through the raw IOMMU_HWPT_ALLOC.
/// </summary>
[TestFixture]
public class NestedHwptAllocContractTests : MockContractTest
{
    private const uint SelftestDataLength = sizeof(uint);

    [Test]
    public void Two_nested_HWPTs_on_a_nest_parent_start_with_every_IOTLB_slot_at_the_given_value()
    {
        uint parent = Fx.AllocPaging();

        var rc0 = Fx.AllocNested(parent, out uint nested0);
        var rc1 = Fx.AllocNested(parent, out uint nested1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc0, Is.EqualTo(Errno.Success));
            Assert.That(rc1, Is.EqualTo(Errno.Success));
            Assert.That(nested1, Is.Not.EqualTo(nested0));
            Assert.That(Fx.Iotlb(nested0), Is.All.EqualTo(MockFixture.IotlbDefault));
            Assert.That(Fx.Iotlb(nested1), Is.All.EqualTo(MockFixture.IotlbDefault));
        }
    }

    [Test]
    public void Without_a_device_every_allocation_is_ENOENT()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Fx.AllocHwpt(0, Fx.IoasId, IommuHwptAllocFlags.NestParent, out _), Is.EqualTo(Errno.ENOENT));
            Assert.That(Fx.AllocHwpt(0, parent, 0, out _, IommuHwptDataType.Selftest, data, SelftestDataLength), Is.EqualTo(Errno.ENOENT));
        }
    }

    [Test]
    public void An_IOAS_ID_as_dev_id_is_ENOENT()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });

        var rc = Fx.AllocHwpt(Fx.IoasId, parent, 0, out _, IommuHwptDataType.Selftest, data, SelftestDataLength);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void A_device_ID_as_pt_id_is_EINVAL()
    {
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });

        var rc = Fx.AllocHwpt(Fx.DevId, Fx.DevId, 0, out _, IommuHwptDataType.Selftest, data, SelftestDataLength);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Data_type_NONE_with_data_is_EINVAL()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });

        var rc = Fx.AllocHwpt(Fx.DevId, parent, 0, out _, IommuHwptDataType.None, data, SelftestDataLength);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void A_data_type_the_mock_does_not_know_is_EOPNOTSUPP()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });

        var rc = Fx.AllocHwpt(Fx.DevId, parent, 0, out _, IommuHwptDataType.Selftest + 1, data, SelftestDataLength);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void Data_one_byte_shorter_than_its_minimum_is_EINVAL()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });

        var rc = Fx.AllocHwpt(Fx.DevId, parent, 0, out _, IommuHwptDataType.Selftest, data, SelftestDataLength - 1);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Data_longer_than_the_struct_is_EINVAL_even_with_a_zero_tail()
    {
        // The driver-data blob rule (include/linux/iommu.h __iommu_copy_struct_from_user()): any longer length is
        // EINVAL, not E2BIG.
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(MockFixture.IotlbDefault, 0u);

        var rc = Fx.AllocHwpt(Fx.DevId, parent, 0, out _, IommuHwptDataType.Selftest, data, SelftestDataLength + 4);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void A_NULL_data_pointer_is_EFAULT()
    {
        uint parent = Fx.AllocPaging();

        var rc = Fx.AllocHwpt(Fx.DevId, parent, 0, out _, IommuHwptDataType.Selftest, dataUptr: 0, SelftestDataLength);

        Assert.That(rc, Is.EqualTo(Errno.EFAULT));
    }

    [Test]
    public void NEST_PARENT_on_a_nested_allocation_is_EOPNOTSUPP()
    {
        uint parent = Fx.AllocPaging();

        var rc = Fx.AllocNested(parent, out _, IommuHwptAllocFlags.NestParent);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void A_parent_that_is_not_a_nest_parent_is_EINVAL()
    {
        uint notParent = Fx.AllocPaging(flags: 0);

        var rc = Fx.AllocNested(notParent, out _);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void A_nested_HWPT_on_top_of_a_nested_HWPT_is_EINVAL()
    {
        uint nested = Fx.AllocNested(Fx.AllocPaging());

        var rc = Fx.AllocNested(nested, out _);

        Assert.That(rc, Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Destroying_the_parent_while_nested_HWPTs_exist_is_EBUSY_and_works_once_they_are_gone()
    {
        uint parent = Fx.AllocPaging();
        uint nested0 = Fx.AllocNested(parent);
        uint nested1 = Fx.AllocNested(parent);

        var busy = Fx.Destroy(parent);
        var destroyNested0 = Fx.Destroy(nested0);
        var stillBusy = Fx.Destroy(parent);
        var destroyNested1 = Fx.Destroy(nested1);
        var destroyParent = Fx.Destroy(parent);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(busy, Is.EqualTo(Errno.EBUSY));
            Assert.That(destroyNested0, Is.EqualTo(Errno.Success));
            Assert.That(stillBusy, Is.EqualTo(Errno.EBUSY));
            Assert.That(destroyNested1, Is.EqualTo(Errno.Success));
            Assert.That(destroyParent, Is.EqualTo(Errno.Success));
            Assert.That(Fx.Mock.DomainCount, Is.Zero);
        }
    }
}
