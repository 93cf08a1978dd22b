using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// Whatever way a VM lets go of its VINTF — closing the file with the page mmapped and queues live, munmapping
/// first, or destroying its HW queues and vIOMMU one by one — the VINTF is disabled, its SID pairs and LVCMDQ
/// mappings are cleared, its queues' registers are zero, and objects, pins, mmaps and frames are back; more VMs
/// than there are VINTFs come and go, so a leaked VINTF would make one fail.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class VintfReleaseTests(VcmdqBackend backend)
{
    public enum Release
    {
        CloseWithEverythingLive,
        MunmapThenClose,
        DestroyEachObject,
    }

    [TestCase(Release.CloseWithEverythingLive)]
    [TestCase(Release.MunmapThenClose)]
    [TestCase(Release.DestroyEachObject)]
    public void A_VM_that_goes_away_leaves_its_VINTF_and_everything_it_held_released(Release release)
    {
        using var rig = new CmdqvRig(backend);
        using var gauges = new LeakGauges(rig.Host);
        var start = gauges.Read();
        var features = rig.Implementation.Options.Features;
        for (int vm = 0; vm < 2 * features.Vintfs; vm++)
        {
            var guest = new CmdqvGuest(rig, "a", vsid: 3, asid: 1);
            var q0 = guest.AllocQueue(0);
            var q1 = guest.AllocQueue(1);
            q0.Submit(SmmuCommandBuilder.TlbiNhAsid(0, 1), SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
            q1.Submit(SmmuCommandBuilder.TlbiS12Vmall(0)); // left in error
            using (Assert.EnterMultipleScope())
            {
                Assert.That(q0.Drained, Is.True);
                Assert.That(q1.ErrorActive, Is.True);
                Assert.That(gauges.Read().Mmaps - start.Mmaps, Is.EqualTo(1), "the VINTF page is mapped");
            }

            int vintf = guest.VintfIndex;
            switch (release)
            {
                case Release.MunmapThenClose:
                    guest.Window.Dispose();
                    Assert.That(gauges.Read().Mmaps, Is.EqualTo(start.Mmaps), "munmap releases the mapping at once");
                    break;
                case Release.DestroyEachObject:
                    guest.Window.Dispose();
                    Assert.That(guest.File.Destroy(q0.HwQueueId), Is.EqualTo(Errno.EBUSY), "queue 1 depends on queue 0");
                    Assert.That(guest.File.Destroy(q1.HwQueueId), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.Destroy(q0.HwQueueId), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.DetachDevice(guest.DevId), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.Destroy(guest.NestedId), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.Destroy(guest.VdeviceId), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.Close(guest.EventFd), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.Destroy(guest.VeventqId), Is.EqualTo(Errno.Success));
                    Assert.That(guest.File.Destroy(guest.ViommuId), Is.EqualTo(Errno.Success), "nothing holds the vIOMMU any more");
                    AssertReleased(rig, vintf, $"VM {vm}: after the vIOMMU's destroy");
                    break;
            }

            guest.Dispose();
            using (Assert.EnterMultipleScope())
            {
                AssertReleased(rig, vintf, $"VM {vm}");
                Assert.That(gauges.Read(), Is.EqualTo(start), $"VM {vm}: objects, pins, mmaps, frames and engine threads");
            }
        }
    }

    private static void AssertReleased(CmdqvRig rig, int vintf, string context)
    {
        var features = rig.Implementation.Options.Features;
        var v = rig.Cmdqv.Vintfs[vintf];
        var queues = Enumerable.Range(vintf * features.LvcmdqsPerVintf, features.LvcmdqsPerVintf).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(v.Config, Is.Zero, $"{context}: VINTF{vintf} disabled");
            Assert.That(Enumerable.Range(0, v.SidPairs).Select(p => v.SidMatch(p) | v.SidReplace(p)), Is.All.Zero, $"{context}: its SID pairs cleared");
            Assert.That(v.Lvcmdqs, Is.All.Null, $"{context}: no LVCMDQ mapped to it");
            Assert.That(v.ErrorMap, Is.EqualTo(UInt128.Zero), $"{context}: no error left in its map");
            Assert.That(queues.Select(q => rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)q * 4)) & CmdqvRegister.CMDQ_ALLOC_ALLOCATED), Is.All.Zero, $"{context}: its global VCMDQs unmapped");
            Assert.That(queues.Select(q => rig.Cmdqv.Queues[q].Queue.Base | rig.Cmdqv.Queues[q].Queue.Prod | rig.Cmdqv.Queues[q].Queue.Cons | rig.Cmdqv.Queues[q].Config), Is.All.Zero, $"{context}: their registers zero");
            Assert.That(queues.Select(q => rig.Cmdqv.Queues[q].ErrorActive), Is.All.False, $"{context}: no queue error left");
        }
    }
}
