using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// The guest drains its event queue and acknowledges overflows by copying EVENTQ_PROD.OVFLG into
/// EVENTQ_CONS.OVACKFLG (Arm IHI 0070 §7.4).
/// </summary>
[TestFixture]
public class GuestEventQueueTests
{
    private const uint Sid = 2;
    private const ushort Asid = 1;
    private const ulong Va = 0x10_0000;

    [Test]
    public void Faults_are_read_in_order_and_CONS_catches_up_with_PROD()
    {
        using var rig = Attached(new GuestSmmuOptions());
        Fault(rig, 3);

        var events = rig.Driver.ReadEvents();
        var again = rig.Driver.ReadEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(events.Select(e => (e.Id, e.StreamId, e.InputAddress)), Is.EqualTo(
                Enumerable.Range(0, 3).Select(i => (SmmuEventId.F_TRANSLATION, Sid, Va + ((ulong)i * 4096)))));
            Assert.That(again, Is.Empty);
            Assert.That(rig.Smmu.ReadRegister((uint)SmmuRegister.EVENTQ_CONS), Is.EqualTo(rig.Smmu.ReadRegister((uint)SmmuRegister.EVENTQ_PROD)));
            Assert.That(rig.Driver.EventsRead, Is.EqualTo(3));
            Assert.That(rig.Driver.EventQueueOverflows, Is.Zero);
        }
    }

    [Test]
    public void An_overflow_is_counted_and_acknowledged_so_that_the_next_one_is_reported_too()
    {
        using var rig = Attached(new GuestSmmuOptions { EventQueueLog2Entries = 2 });

        Fault(rig, 6); // four fit, two are dropped: OVFLG toggles once
        var first = rig.Driver.ReadEvents();
        long overflowsAfterFirst = rig.Driver.EventQueueOverflows;
        Fault(rig, 6); // only reported again because the first overflow was acknowledged
        var second = rig.Driver.ReadEvents();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Has.Count.EqualTo(4));
            Assert.That(overflowsAfterFirst, Is.EqualTo(1));
            Assert.That(second, Has.Count.EqualTo(4));
            Assert.That(rig.Driver.EventQueueOverflows, Is.EqualTo(2));
            Assert.That(rig.Smmu.EventsDropped, Is.EqualTo(4));
            Assert.That(rig.Smmu.ReadRegister((uint)SmmuRegister.EVENTQ_CONS) >> 31, Is.EqualTo(rig.Smmu.ReadRegister((uint)SmmuRegister.EVENTQ_PROD) >> 31),
                "OVACKFLG = OVFLG");
        }
    }

    private static GuestRig Attached(GuestSmmuOptions options)
    {
        var rig = new GuestRig(options: options);
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        return rig;
    }

    /// <summary>DMA to <paramref name="count"/> unmapped pages: one F_TRANSLATION each (the CD has R set).</summary>
    private static void Fault(GuestRig rig, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.That(rig.DmaRead(Sid, Va + ((ulong)i * 4096), out _), Is.EqualTo(DmaStatus.TranslationFault));
        }
    }
}
