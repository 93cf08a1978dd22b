using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// IOMMU_HWPT_INVALIDATE on a TEGRA241_CMDQV vIOMMU runs on the SMMU's main command queue, as arm-smmu-v3-iommufd.c
/// arm_vsmmu_cache_invalidate() issues it (to smmu->cmdq, not to a VINTF0 VCMDQ).
/// </summary>
[TestFixture]
public class TrapPathQueueTests
{
    [Test]
    public void A_Tegra241_vIOMMU_invalidation_goes_to_the_main_queue_not_to_VINTF0()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware);
        using var vm = new CmdqvGuest(rig, "a", vsid: 0x21, asid: 3);
        long main = rig.Hardware.CommandQueue.Consumed;
        long vintf0 = rig.Implementation.HostQueues.Sum(q => q.Queue.Consumed);
        var entries = new byte[16];
        SmmuCommandBuilder.TlbiNhAsid(0, 3).Write(entries);
        uint n = 1;

        var rc = vm.File.HwptInvalidate(vm.ViommuId, (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, 16, entries, ref n);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rc, n), Is.EqualTo((Errno.Success, 1u)));
            Assert.That(rig.Hardware.CommandQueue.Consumed - main, Is.EqualTo(2), "TLBI_NH_ASID and its CMD_SYNC");
            Assert.That(rig.Implementation.HostQueues.Sum(q => q.Queue.Consumed) - vintf0, Is.Zero);
        }
    }
}
