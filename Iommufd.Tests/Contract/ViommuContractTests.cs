using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// FIXTURE(iommufd_viommu) and its allocation tests: tools/testing/selftests/iommu/iommufd.c (viommu_negative_tests,
/// viommu_auto_destroy, viommu_alloc_nested_iopf), through the raw ioctls.
/// </summary>
[TestFixture]
public class ViommuContractTests : MockContractTest
{
    private const uint SelftestType = (uint)IommuViommuType.Selftest;

    [Test]
    public void The_fixture_setup_allocates_a_nest_parent_a_vIOMMU_and_a_nested_HWPT()
    {
        uint parent = Fx.AllocPaging();

        var viommuRc = Fx.AllocViommu(Fx.DevId, parent, SelftestType, out uint viommu);
        var nestedRc = Fx.AllocNested(viommu, out uint nested);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(viommuRc, Is.EqualTo(Errno.Success));
            Assert.That(viommu, Is.Not.Zero);
            Assert.That(nestedRc, Is.EqualTo(Errno.Success));
            Assert.That(Fx.Iotlb(nested), Is.All.EqualTo(MockFixture.IotlbDefault));
            Assert.That(Fx.Mock.ViommuCount, Is.EqualTo(1));
        }
    }

    [Test]
    public void Without_a_device_VIOMMU_ALLOC_is_ENOENT()
    {
        // The no_viommu variant: the fixture has no mock device, so its device_id is 0.
        var rc = Fx.AllocViommu(0, 0, SelftestType, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void An_invalid_HWPT_ID_is_ENOENT()
    {
        var rc = Fx.AllocViommu(Fx.DevId, 0, SelftestType, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void A_HWPT_that_is_not_a_nest_parent_is_EINVAL()
    {
        uint hwpt = Fx.AllocPaging(flags: 0);

        var rc = Fx.AllocViommu(Fx.DevId, hwpt, SelftestType, out _);
        var destroy = Fx.Destroy(hwpt);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(destroy, Is.EqualTo(Errno.Success), "the failed allocation holds no reference");
        }
    }

    [Test]
    public void A_vIOMMU_type_the_mock_does_not_support_is_EOPNOTSUPP()
    {
        uint parent = Fx.AllocPaging();

        var rc = Fx.AllocViommu(Fx.DevId, parent, 0xdead, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void The_parent_HWPT_of_a_vIOMMU_cannot_be_destroyed()
    {
        var (parent, _, _) = Fx.SetUpViommu();

        Assert.That(Fx.Destroy(parent), Is.EqualTo(Errno.EBUSY));
    }

    [Test]
    public void A_vIOMMU_with_a_nested_HWPT_cannot_be_destroyed_until_the_HWPT_is_gone()
    {
        var (parent, viommu, nested) = Fx.SetUpViommu();

        var busy = Fx.Destroy(viommu);
        var destroyNested = Fx.Destroy(nested);
        var destroyViommu = Fx.Destroy(viommu);
        var destroyParent = Fx.Destroy(parent);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(busy, Is.EqualTo(Errno.EBUSY));
            Assert.That(destroyNested, Is.EqualTo(Errno.Success));
            Assert.That(destroyViommu, Is.EqualTo(Errno.Success));
            Assert.That(destroyParent, Is.EqualTo(Errno.Success));
            Assert.That(Fx.Mock.ViommuCount, Is.Zero);
        }
    }

    [Test]
    public void Closing_the_file_destroys_a_whole_vIOMMU_setup_without_leaks()
    {
        // viommu_auto_destroy: the fixture is torn down with everything still allocated; the base class checks
        // for leaked domains, vIOMMUs and pages after the close. Here: the close really had something to destroy.
        Fx.SetUpViommu();
        Assert.That(Fx.File.ObjectCount, Is.EqualTo(5), "device, IOAS, parent, vIOMMU, nested");

        Fx.File.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Fx.Mock.ViommuCount, Is.Zero);
            Assert.That(Fx.Mock.DomainCount, Is.Zero);
        }
    }

    [Test]
    public void A_nested_HWPT_with_fault_id_UINT32_MAX_is_ENOENT()
    {
        var (_, viommu, _) = Fx.SetUpViommu();

        var rc = Fx.AllocNested(viommu, out _, IommuHwptAllocFlags.FaultIdValid, faultId: uint.MaxValue);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void A_nested_HWPT_with_an_unknown_flag_beside_FAULT_ID_VALID_is_EOPNOTSUPP()
    {
        var (_, viommu, _) = Fx.SetUpViommu();
        uint faultId = AllocFaultQueue(out _);

        var rc = Fx.AllocNested(viommu, out _, IommuHwptAllocFlags.FaultIdValid | (IommuHwptAllocFlags)(1u << 31), faultId: faultId);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void An_IOPF_capable_nested_HWPT_needs_a_vDEVICE_to_attach_stays_busy_while_attached_and_delivers_faults()
    {
        var (_, viommu, _) = Fx.SetUpViommu();
        uint faultId = AllocFaultQueue(out int faultFd);

        var alloc = Fx.AllocNested(viommu, out uint iopfHwpt, IommuHwptAllocFlags.FaultIdValid, faultId: faultId);
        var attachWithoutVdevice = Fx.Attach(iopfHwpt);
        var vdevice = Fx.AllocVdevice(viommu, Fx.DevId, 0x99, out _);
        var attach = Fx.Attach(iopfHwpt);
        var destroyAttached = Fx.Destroy(iopfHwpt);
        var trigger = Fx.File.ReportPageFault(Fx.DevId, 0x100000, IommuHwptPgfaultPerm.Read);
        var fault = new IommuHwptPgfault();
        var read = Fx.File.Read(faultFd, MemoryMarshal.AsBytes(new Span<IommuHwptPgfault>(ref fault)), out int bytes);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(alloc, Is.EqualTo(Errno.Success));
            Assert.That(attachWithoutVdevice, Is.EqualTo(Errno.ENOENT));
            Assert.That(vdevice, Is.EqualTo(Errno.Success));
            Assert.That(attach, Is.EqualTo(Errno.Success));
            Assert.That(destroyAttached, Is.EqualTo(Errno.EBUSY));
            Assert.That(trigger, Is.EqualTo(Errno.Success));
            Assert.That(read, Is.EqualTo(Errno.Success));
            Assert.That(bytes, Is.EqualTo(Marshal.SizeOf<IommuHwptPgfault>()));
            Assert.That(fault.DevId, Is.EqualTo(Fx.DevId));
            Assert.That(fault.Addr, Is.EqualTo(0x100000ul));
        }
    }

    [Test]
    public void A_nested_HWPT_with_ALLOC_PASID_is_accepted_by_the_vIOMMU()
    {
        // TEST_F(iommufd_device_pasid, pasid_attach) allocates its nested HWPT this way.
        var (_, viommu, _) = Fx.SetUpViommu();

        var rc = Fx.AllocNested(viommu, out uint nested, IommuHwptAllocFlags.AllocPasid);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(Fx.Iotlb(nested), Is.All.EqualTo(MockFixture.IotlbDefault));
        }
    }

    [Test]
    public void A_nested_HWPT_from_a_vIOMMU_with_a_data_type_the_mock_does_not_know_is_EOPNOTSUPP()
    {
        var (_, viommu, _) = Fx.SetUpViommu();
        ulong data = Fx.Put(new IommuHwptSelftest { Iotlb = 1 });

        var rc = Fx.AllocHwpt(Fx.DevId, viommu, 0, out _, IommuHwptDataType.ArmSmmuV3, data, sizeof(uint));

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    private uint AllocFaultQueue(out int fd)
    {
        var cmd = new IommuFaultAlloc();
        MockFixture.Expect(Fx.Raw(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, ref cmd), "FAULT_QUEUE_ALLOC");
        fd = (int)cmd.OutFaultFd;
        return cmd.OutFaultId;
    }
}
