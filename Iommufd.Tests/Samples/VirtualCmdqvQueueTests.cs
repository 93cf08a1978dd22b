using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
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
/// queue's VCMDQ_GERROR.CMDQ_INIT_ERR; disabling VINTF0 or the CMDQV frees every HW queue; a relayed queue error
/// interrupts the guest unless VINTF0's bit of the 64-bit VINTF_INT_MASK (a bit per VINTF, tegra241-cmdqv.c) is set.
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

    [TestCase(0UL, false, true, TestName = "A relayed queue error raises the guest's CMDQV interrupt when nothing is masked")]
    [TestCase(1UL, true, false, TestName = "VINTF0's bit of VINTF_INT_MASK, written as 64 bits, masks the guest's interrupt")]
    [TestCase(~1UL, false, true, TestName = "Every VINTF's bit but VINTF0's, written as two words, leaves the guest's interrupt raised")]
    [TestCase(1UL << 32, true, true, TestName = "VINTF32's bit in the high word leaves the guest's interrupt raised")]
    public void The_guest_CMDQV_interrupt_is_masked_by_its_VINTFs_bit_of_VINTF_INT_MASK(ulong mask, bool wide, bool raised)
    {
        var (provider, vm) = BuildVm();
        using (provider)
        using (vm)
        {
            var cmdqv = vm.Cmdqv!;
            var driver = new GuestCmdqvDriver(cmdqv, vm.Ram);
            int interrupts = 0;
            cmdqv.Interrupt += () => interrupts++;
            if (wide)
            {
                cmdqv.Write(CmdqvRegister.VINTF_INT_MASK, mask, 8);
            }
            else
            {
                cmdqv.Write(CmdqvRegister.VINTF_INT_MASK, (uint)mask);
                cmdqv.Write(CmdqvRegister.VINTF_INT_MASK + 4, (uint)(mask >> 32));
            }

            ulong readBack = cmdqv.Read(CmdqvRegister.VINTF_INT_MASK, 8);
            ulong readWords = cmdqv.Read(CmdqvRegister.VINTF_INT_MASK) | (cmdqv.Read(CmdqvRegister.VINTF_INT_MASK + 4) << 32);
            driver.Queue.Submit([new SmmuCommand(0x7F, 0)]); // an undefined opcode: CERROR_ILL, skipped by the guest
            int records = cmdqv.DeliverEvents();

            using (Assert.EnterMultipleScope())
            {
                Assert.That((readBack, readWords), Is.EqualTo((mask, mask)), "the mask reads back whole, as 64 bits or as two words");
                Assert.That(driver.Queue.Statistics.Errors(CommandError.CERROR_ILL), Is.EqualTo(1));
                Assert.That(records, Is.EqualTo(1), "the error map was relayed either way");
                Assert.That(cmdqv.Read(CmdqvRegister.VINTF_ERR_MAP), Is.EqualTo(1UL), "and shows in VINTF0's bit of VINTF_ERR_MAP");
                Assert.That(interrupts, Is.EqualTo(raised ? 1 : 0));
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
