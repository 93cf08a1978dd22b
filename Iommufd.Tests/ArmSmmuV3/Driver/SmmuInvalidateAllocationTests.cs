using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Tests.ArmSmmuV3.Isolation;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>The SMMUv3 invalidation path allocates nothing in steady state (issue: "a steady-state invalidate of
/// 63 entries allocates 0 bytes").</summary>
public class SmmuInvalidateAllocationTests
{
    [Test]
    public void A_steady_state_raw_invalidate_of_63_entries_allocates_zero_bytes()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("a", "smmu0", streamId: 0x10, atsCapable: true))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        using var guest = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 1, asid: 3);
        guest.MapAndTouch(0x10_0000, 16);

        // A realistic mix: by-VA TLBIs, by-ASID, an ATC invalidation and a CD invalidation.
        var commands = new SmmuCommand[63];
        for (int i = 0; i < commands.Length; i++)
        {
            commands[i] = (i % 4) switch
            {
                0 => SmmuCommandBuilder.TlbiNhVa(0, 3, 0x10_0000UL + ((ulong)i << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0),
                1 => SmmuCommandBuilder.TlbiNhAsid(0, 3),
                2 => SmmuCommandBuilder.AtcInv(1, 0, ssv: false, global: false, address: 0x10_0000, size: 4),
                _ => SmmuCommandBuilder.CfgiCd(1, 0, leaf: true),
            };
        }

        for (int i = 0; i < 50; i++)
        {
            Assert.That(guest.Invalidate(commands, out _), Is.EqualTo(Errno.Success)); // warm up
        }

        uint entryNum = 0;
        long allocated = AllocationProbe.SteadyStateBytes(() => guest.Invalidate(commands, out entryNum));
        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.Zero);
            Assert.That(entryNum, Is.EqualTo(63u));
        });
    }
}
