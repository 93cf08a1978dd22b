using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Samples;

/// <summary>
/// The VMM kit's trap cost: charged once for every emulated guest access, whatever the access sets off, and never
/// for the VINTF page the guest reaches directly. Charges are counted, never timed.
/// </summary>
public class TrapCostTests
{
    /// <summary>Counts the guest's accesses on their way to a front end.</summary>
    private sealed class CountingMmio(IMmio inner) : IMmio
    {
        public long Accesses { get; private set; }

        public ulong Read(uint offset, int size = 4)
        {
            Accesses++;
            return inner.Read(offset, size);
        }

        public void Write(uint offset, ulong value, int size = 4)
        {
            Accesses++;
            inner.Write(offset, value, size);
        }
    }

    private static (ServiceProvider Provider, VirtualMachine Vm) BuildVm(bool cmdqv, TrapCost cost)
    {
        var provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0");
                if (cmdqv)
                {
                    b.AddTegra241Cmdqv("smmu0", o => o.Backend = VcmdqBackend.Hardware);
                }

                b.AddDevice("nic", "smmu0", 0x100);
            })
            .BuildIommufdServiceProvider();
        var options = new VirtualMachineOptions { TrapCost = cost, Viommu = cmdqv ? ViommuKind.SmmuV3WithCmdqv : ViommuKind.SmmuV3 };
        options.Devices.Add(("nic", 1));
        return (provider, new VirtualMachine(provider.GetRequiredService<IommufdHost>(), options));
    }

    private static SmmuCommand[] Tlbis(int count) =>
        [.. Enumerable.Range(0, count).Select(i => SmmuCommandBuilder.TlbiNhVa(0, 1, 0x10_0000UL + ((ulong)i << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0))];

    [Test]
    public void Every_vSMMU_access_is_charged_once_and_a_batch_costs_the_same_traps_whatever_its_size()
    {
        var (provider, vm) = BuildVm(cmdqv: false, TrapCost.None);
        using (provider)
        using (vm)
        {
            var mmio = new CountingMmio(vm.Smmu);
            var guest = new GuestSmmuDriver(mmio, vm.Ram);
            Assert.That(vm.Traps, Is.EqualTo(mmio.Accesses), "probe and reset: one charge per access");

            (long Traps, long Accesses, long Forwarded) Submit(int commands)
            {
                long traps = vm.Traps, accesses = mmio.Accesses, forwarded = vm.Smmu.Counters.ForwardedCommands;
                Assert.That(guest.Queue.Submit(Tlbis(commands)), Is.True);
                return (vm.Traps - traps, mmio.Accesses - accesses, vm.Smmu.Counters.ForwardedCommands - forwarded);
            }

            var one = Submit(1);
            var many = Submit(60);
            Assert.Multiple(() =>
            {
                Assert.That(one.Forwarded, Is.EqualTo(1));
                Assert.That(many.Forwarded, Is.EqualTo(60));
                Assert.That(one.Traps, Is.EqualTo(one.Accesses), "one charge per access");
                Assert.That(many.Traps, Is.EqualTo(many.Accesses), "one charge per access");
                Assert.That(many.Traps, Is.EqualTo(one.Traps), "60 commands behind one PROD write are not 60 exits");
                Assert.That(one.Traps, Is.EqualTo(2), "PROD write and the CONS read that sees the sync done; free space comes from the shadow CONS");
            });
        }
    }

    [Test]
    public void The_direct_VINTF_page_costs_no_trap_once_its_queue_exists_but_the_emulated_pages_do()
    {
        var (provider, vm) = BuildVm(cmdqv: true, TrapCost.None);
        using (provider)
        using (vm)
        {
            var mmio = new CountingMmio(vm.Cmdqv!);
            long before = vm.Traps;
            var driver = new GuestCmdqvDriver(mmio, vm.Ram);
            long setup = vm.Traps - before;
            Assert.That(setup, Is.GreaterThan(0).And.LessThan(mmio.Accesses), "config page traps; page 0 after allocation does not");

            long traps = vm.Traps;
            long accesses = mmio.Accesses;
            Assert.That(driver.Queue.Submit(Tlbis(8)), Is.True);
            Assert.Multiple(() =>
            {
                Assert.That(mmio.Accesses - accesses, Is.GreaterThanOrEqualTo(2), "PROD written and CONS polled");
                Assert.That(vm.Traps - traps, Is.Zero, "the guest's own VCMDQ is reached without an exit");
            });
        }
    }

    [Test]
    public void The_default_is_the_Kunpeng_920_figure_and_every_preset_has_its_published_value()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new VirtualMachineOptions().TrapCost, Is.SameAs(TrapCost.Kunpeng920));
            Assert.That(TrapCost.Kunpeng920.Microseconds, Is.EqualTo(2.3));
            Assert.That(TrapCost.PhytiumS2500.Microseconds, Is.EqualTo(7.2));
            Assert.That(TrapCost.Hvc.Microseconds, Is.EqualTo(0.41));
            Assert.That(TrapCost.None.Microseconds, Is.Zero);
            Assert.That(TrapCost.Kunpeng920.ToString(), Is.EqualTo("kunpeng920 (2.3 µs per trap)"));
        });
    }

    [TestCase("kunpeng920", 2.3)]
    [TestCase("PHYTIUM-S2500", 7.2)]
    [TestCase("hvc", 0.41)]
    [TestCase("none", 0)]
    [TestCase("1.5", 1.5)]
    [TestCase("1.5us", 1.5)]
    [TestCase("800ns", 0.8)]
    [TestCase("0", 0)]
    public void A_preset_name_or_a_time_parses(string text, double microseconds)
    {
        Assert.That(TrapCost.TryParse(text, out var cost), Is.True);
        Assert.That(cost.Microseconds, Is.EqualTo(microseconds).Within(1e-9));
    }

    [TestCase("")]
    [TestCase("fast")]
    [TestCase("-1")]
    [TestCase("1001us")]
    [TestCase("NaN")]
    public void Anything_else_does_not_parse(string text) => Assert.That(TrapCost.TryParse(text, out _), Is.False);
}
