using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Driver;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// The host's VINTF0 queues as tegra241-cmdqv.c tegra241_vcmdq_alloc_smmu_cmdq() sizes them: like the SMMU's
/// main queue, so never above IDR1.CMDQS, and waiting for a CMD_SYNC as long as it does.
/// </summary>
[TestFixture]
public class HostVintfQueueTests
{
    [TestCase(19, 9, 9, TestName = "VINTF0 queues take the host queue size")]
    [TestCase(8, 8, 8, TestName = "VINTF0 queues at IDR1.CMDQS (the options refuse a host queue above it)")]
    public void VINTF0_queues_are_sized_like_the_main_queue_within_IDR1_CMDQS(int cmdqs, int hostQueueLog2, int expected)
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, smmu: o =>
        {
            o.Features = o.Features with { CmdqLog2Size = cmdqs };
            o.HostQueueLog2Size = hostQueueLog2;
        });

        ulong baseRegister = rig.Cmdqv.ReadRegister(CmdqvImplementation.QueueRegister(0, CmdqvRegister.VCMDQ_BASE, page1: true), 8);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Smmu.MainQueue.Queue.Log2Size, Is.EqualTo(expected));
            Assert.That((int)(baseRegister & 0x1F), Is.EqualTo(expected), "VCMDQ_BASE.LOG2SIZE of VINTF0's LVCMDQ 0");
            Assert.That(baseRegister & CommandQueue.BaseAddressMask & ((16UL << expected) - 1), Is.Zero, "naturally aligned");
        }
    }

    [Test]
    public void VINTF0_queues_wait_for_a_CMD_SYNC_as_long_as_the_main_queue_the_options_configure()
    {
        var timeout = TimeSpan.FromMilliseconds(1234);
        using var rig = new CmdqvRig(VcmdqBackend.Hardware, smmu: o => o.SyncTimeout = timeout);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Smmu.MainQueue.Timeout, Is.EqualTo(timeout));
            Assert.That(rig.Implementation.HostQueues.Select(q => q.Timeout), Is.Not.Empty.And.All.EqualTo(timeout), "arm-smmu-v3.c's ARM_SMMU_POLL_TIMEOUT_US serves every queue the driver polls");
        }
    }
}
