using Iommufd.ArmSmmuV3;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Samples;

/// <summary>
/// The VMM kit's guest CMDQV and its HW queues: a queue the host refuses (IOMMU_HW_QUEUE_ALLOC fails) shows as the
/// queue's VCMDQ_GERROR.CMDQ_INIT_ERR; disabling VINTF0 or the CMDQV frees every HW queue.
/// </summary>
[TestFixture]
public class VirtualCmdqvQueueTests
{
    private const uint Page0 = CmdqvRegister.VintfPagesBase;
    private const uint Page1 = CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize;

    [TestCase(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, TestName = "Disabling VINTF0 frees the HW queues")]
    [TestCase(CmdqvRegister.CONFIG, TestName = "Disabling the CMDQV frees the HW queues")]
    public void Disabling_frees_the_HW_queues(uint register)
    {
        var (provider, vm) = BuildVm();
        using (provider)
        using (vm)
        {
            var cmdqv = vm.Cmdqv!;
            _ = new GuestCmdqvDriver(cmdqv, vm.Ram);
            int before = cmdqv.HwQueuesAllocated;

            cmdqv.Write(register, 0);

            Assert.That((before, cmdqv.HwQueuesAllocated), Is.EqualTo((1, 0)));
        }
    }

    [Test]
    public void A_HW_queue_the_host_refuses_raises_GERROR_CMDQ_INIT_ERR_until_acknowledged()
    {
        var (provider, vm) = BuildVm();
        using (provider)
        using (vm)
        {
            var cmdqv = vm.Cmdqv!;
            cmdqv.Write(CmdqvRegister.CONFIG, 1);
            cmdqv.Write(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN);
            cmdqv.Write(CmdqvRegister.CMDQ_ALLOC, CmdqvRegister.CMDQ_ALLOC_ALLOCATED);
            cmdqv.Write(Page1 + CmdqvRegister.VCMDQ_BASE, 0x7_0000_0000UL | 8, 8); // an IPA outside the guest's RAM

            uint gerror = (uint)cmdqv.Read(Page0 + CmdqvRegister.VCMDQ_GERROR);
            uint gerrorn = (uint)cmdqv.Read(Page0 + CmdqvRegister.VCMDQ_GERRORN);
            cmdqv.Write(Page0 + CmdqvRegister.VCMDQ_GERRORN, gerror);
            uint acknowledged = (uint)cmdqv.Read(Page0 + CmdqvRegister.VCMDQ_GERROR) ^ (uint)cmdqv.Read(Page0 + CmdqvRegister.VCMDQ_GERRORN);

            using (Assert.EnterMultipleScope())
            {
                Assert.That(cmdqv.HwQueueAllocFailures, Is.EqualTo(1));
                Assert.That(cmdqv.HwQueuesAllocated, Is.Zero);
                Assert.That(gerror ^ gerrorn, Is.EqualTo(CmdqvRegister.VCMDQ_GERROR_CMDQ_INIT_ERR));
                Assert.That(acknowledged, Is.Zero);
                Assert.That(cmdqv.Read(Page1 + CmdqvRegister.VCMDQ_BASE, 8), Is.Zero, "the guest must set the queue up again");
            }
        }
    }

    private static (ServiceProvider, VirtualMachine) BuildVm()
    {
        var provider = new ServiceCollection()
            .AddIommufd(b => b
                .AddArmSmmuV3("smmu0")
                .AddTegra241Cmdqv("smmu0", o => o.Backend = VcmdqBackend.Hardware)
                .AddDevice("nic", "smmu0", 0x100))
            .BuildIommufdServiceProvider();
        var options = new VirtualMachineOptions { TrapCost = TrapCost.None, Viommu = ViommuKind.SmmuV3WithCmdqv };
        options.Devices.Add(("nic", 1));
        return (provider, new VirtualMachine(provider.GetRequiredService<IommufdHost>(), options));
    }
}
