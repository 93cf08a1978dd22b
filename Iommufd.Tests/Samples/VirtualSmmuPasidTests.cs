using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Samples;

/// <summary>
/// The VMM kit's vSMMU and PASIDs: IDR1.SSIDSIZE is the widest out_max_pasid_log2 of the VM's devices (iommufd
/// device.c iommufd_get_hw_info), never wider than the host's SSIDSIZE, and 0 when no device has a PASID capability.
/// </summary>
public class VirtualSmmuPasidTests
{
    private static int GuestSsidBits(int hostSsidBits, params int[] pasidBits)
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0", o => o.Features = o.Features with { SsidBits = hostSsidBits });
                for (int i = 0; i < pasidBits.Length; i++)
                {
                    b.AddDevice($"d{i}", "smmu0", (uint)(0x100 + i), pasidBits: pasidBits[i]);
                }
            })
            .BuildIommufdServiceProvider();
        var options = new VirtualMachineOptions();
        for (int i = 0; i < pasidBits.Length; i++)
        {
            options.Devices.Add(($"d{i}", (uint)(1 + i)));
        }

        using var vm = new VirtualMachine(provider.GetRequiredService<IommufdHost>(), options);
        return new GuestSmmuCapabilities(
            (uint)vm.Smmu.Read((uint)SmmuRegister.IDR0), (uint)vm.Smmu.Read((uint)SmmuRegister.IDR1),
            (uint)vm.Smmu.Read((uint)SmmuRegister.IDR3), (uint)vm.Smmu.Read((uint)SmmuRegister.IDR5)).SsidBits;
    }

    [TestCase(20, new[] { 0, 0 }, 0, TestName = "no PASID capability: SSIDSIZE 0")]
    [TestCase(20, new[] { 0, 10 }, 10, TestName = "the widest device's PASID width")]
    [TestCase(8, new[] { 16 }, 8, TestName = "capped at the host's SSIDSIZE")]
    public void IDR1_SSIDSIZE_follows_the_devices_PASID_widths(int host, int[] devices, int expected) =>
        Assert.That(GuestSsidBits(host, devices), Is.EqualTo(expected));
}
