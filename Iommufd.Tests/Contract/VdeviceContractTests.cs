using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd_viommu, vdevice_alloc) and vdevice_tombstone: tools/testing/selftests/iommu/iommufd.c, with the
/// vEVENTQ read checks of iommufd_utils.h _test_cmd_read_vevents(). TRIGGER_VEVENT is <c>MockIommu.TriggerVevent</c>.
/// </summary>
[TestFixture]
public class VdeviceContractTests : MockContractTest
{
    private uint _viommu;
    private uint _nested;

    [SetUp]
    public void SetUpViommu() => (_, _viommu, _nested) = Fx.SetUpViommu();

    [Test]
    public void Attaching_to_the_vIOMMU_nested_HWPT_without_a_vDEVICE_is_ENOENT()
    {
        var rc = Fx.Attach(_nested);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.ENOENT));
            Assert.That(Fx.Mock.GetAttachedDomain(Fx.Device), Is.Null, "still blocked");
        }
    }

    [Test]
    public void A_second_vEVENTQ_of_the_same_type_is_EEXIST()
    {
        var first = Fx.AllocVeventq(_viommu, IommuVeventqType.Selftest, 2, out _, out _);
        var second = Fx.AllocVeventq(_viommu, IommuVeventqType.Selftest, 2, out _, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(Errno.Success));
            Assert.That(second, Is.EqualTo(Errno.EEXIST));
        }
    }

    [Test]
    public void A_triggered_event_carries_the_virtual_ID_and_sequence_0()
    {
        MockFixture.Expect(Fx.AllocVeventq(_viommu, IommuVeventqType.Selftest, 2, out _, out int fd), "VEVENTQ_ALLOC");
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _), "VDEVICE_ALLOC");
        MockFixture.Expect(Fx.Attach(_nested), "attach");
        int previous = -1;

        var trigger = Fx.Mock.TriggerVevent(Fx.Device);
        var read = Fx.ReadVevents(fd, 1, 0x99, ref previous);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(trigger, Is.EqualTo(Errno.Success));
            Assert.That(read, Is.EqualTo(Errno.Success));
            Assert.That(previous, Is.Zero, "sequence of the first event");
        }
    }

    [Test]
    public void A_second_vDEVICE_for_the_same_device_and_ID_is_EEXIST()
    {
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _), "VDEVICE_ALLOC");

        var rc = Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _);

        Assert.That(rc, Is.EqualTo(Errno.EEXIST));
    }

    [Test]
    public void Triggering_an_event_for_a_device_not_attached_through_a_vIOMMU_is_ENOENT()
    {
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _), "VDEVICE_ALLOC");
        var unattached = Fx.Mock.TriggerVevent(Fx.Device);
        MockFixture.Expect(Fx.Attach(Fx.IoasId), "attach to the IOAS");
        var onPaging = Fx.Mock.TriggerVevent(Fx.Device);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unattached, Is.EqualTo(Errno.ENOENT));
            Assert.That(onPaging, Is.EqualTo(Errno.ENOENT));
        }
    }

    [Test]
    public void The_selftest_vdevice_alloc_sequence_reports_an_overflow_once_and_then_recovers()
    {
        MockFixture.Expect(Fx.AllocVeventq(_viommu, IommuVeventqType.Selftest, 2, out _, out int fd), "VEVENTQ_ALLOC");
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out uint vdev), "VDEVICE_ALLOC 0x99");
        MockFixture.Expect(Fx.Attach(_nested), "attach");
        int previous = -1;
        MockFixture.Expect(Fx.Mock.TriggerVevent(Fx.Device), "trigger");
        var firstRead = Fx.ReadVevents(fd, 1, 0x99, ref previous);
        var duplicate = Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _);

        // Detach (replace with the IOAS), swap the vDEVICE for 0x88 and re-attach; then overflow a depth-2 queue.
        MockFixture.Expect(Fx.Attach(Fx.IoasId), "replace with the IOAS");
        var destroyVdev = Fx.Destroy(vdev);
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x88, out _), "VDEVICE_ALLOC 0x88");
        MockFixture.Expect(Fx.Attach(_nested), "re-attach");
        for (int i = 0; i < 3; i++)
        {
            MockFixture.Expect(Fx.Mock.TriggerVevent(Fx.Device), "trigger");
        }

        var overflowRead = Fx.ReadVevents(fd, 3, 0x88, ref previous);
        int sequenceOfLoss = previous;
        MockFixture.Expect(Fx.Mock.TriggerVevent(Fx.Device), "trigger");
        var recoveredRead = Fx.ReadVevents(fd, 1, 0x88, ref previous);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(firstRead, Is.EqualTo(Errno.Success));
            Assert.That(duplicate, Is.EqualTo(Errno.EEXIST));
            Assert.That(destroyVdev, Is.EqualTo(Errno.Success));
            Assert.That(overflowRead, Is.EqualTo(Errno.EOVERFLOW));
            Assert.That(sequenceOfLoss, Is.EqualTo(3), "events 1 and 2 fit, 3 was lost");
            Assert.That(recoveredRead, Is.EqualTo(Errno.Success), "overflow must be gone");
            Assert.That(previous, Is.EqualTo(4));
        }
    }

    [Test]
    public void An_event_with_another_virtual_ID_than_expected_is_reported_as_EINVAL_by_the_read_check()
    {
        // Guards the test utility itself: the read check must be able to fail on the payload.
        MockFixture.Expect(Fx.AllocVeventq(_viommu, IommuVeventqType.Selftest, 2, out _, out int fd), "VEVENTQ_ALLOC");
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _), "VDEVICE_ALLOC");
        MockFixture.Expect(Fx.Attach(_nested), "attach");
        MockFixture.Expect(Fx.Mock.TriggerVevent(Fx.Device), "trigger");
        int previous = -1;

        Assert.That(Fx.ReadVevents(fd, 1, 0x98, ref previous), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void An_event_without_a_vEVENTQ_is_dropped_and_the_trigger_still_succeeds()
    {
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out _), "VDEVICE_ALLOC");
        MockFixture.Expect(Fx.Attach(_nested), "attach");
        var dropped = Fx.Mock.TriggerVevent(Fx.Device);
        MockFixture.Expect(Fx.AllocVeventq(_viommu, IommuVeventqType.Selftest, 2, out _, out int fd), "VEVENTQ_ALLOC");
        var read = Fx.File.Read(fd, new byte[64], out int bytes);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(dropped, Is.EqualTo(Errno.Success));
            Assert.That(read, Is.EqualTo(Errno.Success));
            Assert.That(bytes, Is.Zero, "the earlier event was not kept for a later queue");
        }
    }

    [Test]
    public void Without_a_device_VDEVICE_ALLOC_is_ENOENT()
    {
        var rc = Fx.AllocVdevice(_viommu, 0, 0x99, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void Without_a_vIOMMU_VDEVICE_ALLOC_is_ENOENT()
    {
        var rc = Fx.AllocVdevice(0, Fx.DevId, 0x99, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void A_vDEVICE_whose_device_was_destroyed_is_a_tombstone_that_IOMMU_DESTROY_answers_with_ENOENT()
    {
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, 0x99, out uint vdev), "VDEVICE_ALLOC");
        int objectsBefore = Fx.File.ObjectCount;

        var unbind = Fx.File.UnbindDevice(Fx.DevId);
        var destroy = Fx.Destroy(vdev);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unbind, Is.EqualTo(Errno.Success));
            Assert.That(destroy, Is.EqualTo(Errno.ENOENT));
            Assert.That(Fx.File.ObjectCount, Is.EqualTo(objectsBefore - 1), "the device left, the vDEVICE ID stays taken");
            Assert.That(Fx.Destroy(_viommu), Is.EqualTo(Errno.EBUSY), "the nested HWPT still holds the vIOMMU");
        }
    }
}
