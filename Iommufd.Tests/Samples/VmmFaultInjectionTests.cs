using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Samples;

/// <summary>Faults a VMM must survive, seen from the guest through the vSMMU front end.</summary>
public class VmmFaultInjectionTests
{
    private sealed class Rig : IDisposable
    {
        private readonly ServiceProvider _provider;

        public Rig(GuestSmmuOptions? guestOptions = null)
        {
            _provider = new ServiceCollection()
                .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("nic", "smmu0", 0x100, atsCapable: true).AddDevice("disk", "smmu0", 0x101))
                .BuildServiceProvider();
            var host = _provider.GetRequiredService<IommufdHost>();
            var options = new VirtualMachineOptions();
            options.Devices.Add(("nic", 1));
            options.Devices.Add(("disk", 2));
            Vm = new VirtualMachine(host, options);
            Guest = new GuestSmmuDriver(Vm.Smmu, Vm.Ram, guestOptions);
            Assert.That(Guest.AttachDevice(1, asid: 1, ats: true), Is.True);
            Assert.That(Guest.AttachDevice(2, asid: 2), Is.True);
        }

        public VirtualMachine Vm { get; }

        public GuestSmmuDriver Guest { get; }

        public void Dispose()
        {
            Vm.Dispose();
            _provider.Dispose();
        }
    }

    [Test]
    public void A_guest_command_the_host_rejects_is_CERROR_ILL_at_that_entry_and_the_queue_continues_after_GERRORN()
    {
        using var rig = new Rig();
        var stats = rig.Guest.Queue.Statistics;
        long forwardedBefore = rig.Vm.Smmu.Counters.ForwardedCommands;

        // CFGI_CD for vSID 7: no vDEVICE has it, so the host refuses it (EIO) and the VMM reports CERROR_ILL.
        SmmuCommand[] batch =
        [
            SmmuCommandBuilder.TlbiNhAsid(0, 1),
            SmmuCommandBuilder.CfgiCd(7, 0, leaf: true),
            SmmuCommandBuilder.TlbiNhAsid(0, 2),
        ];
        rig.Guest.Queue.Submit(batch);

        var failure = stats.Failures.Single();
        Assert.Multiple(() =>
        {
            Assert.That(failure.Error, Is.EqualTo(CommandError.CERROR_ILL));
            Assert.That(failure.Opcode, Is.EqualTo(SmmuOpcode.CFGI_CD));
            Assert.That(failure.CommandIndex, Is.EqualTo(1), "CONS.ERR lands on exactly the refused entry");
            Assert.That(rig.Vm.Smmu.Counters.ForwardedCommands - forwardedBefore, Is.EqualTo(2), "the entries around it were forwarded");
            Assert.That(rig.Vm.Smmu.Read((uint)SmmuRegister.GERROR) ^ rig.Vm.Smmu.Read((uint)SmmuRegister.GERRORN), Is.Zero, "acknowledged");
        });

        // The queue works again: an unmap is invalidated and DMA faults.
        ulong buffer = rig.Vm.Ram.Allocate(4096, 4096);
        rig.Guest.Map(2, 0x5000, buffer, 4096, IommuProtection.Read);
        var scratch = new byte[8];
        Assert.That(rig.Vm.Devices[1].Device.DmaRead(0x5000, scratch), Is.EqualTo(DmaStatus.Ok));
        Assert.That(rig.Guest.Unmap(2, 0x5000, 4096), Is.True);
        Assert.That(rig.Vm.Devices[1].Device.DmaRead(0x5000, scratch), Is.EqualTo(DmaStatus.TranslationFault));
    }

    [Test]
    public void An_ATS_device_that_does_not_answer_is_CERROR_ATC_INV_SYNC_on_the_guests_CMD_SYNC()
    {
        using var rig = new Rig();
        var nic = rig.Vm.Devices[0].Device;
        ulong buffer = rig.Vm.Ram.Allocate(4096, 4096);
        rig.Guest.Map(1, 0x9000, buffer, 4096, IommuProtection.Read | IommuProtection.Write);
        var scratch = new byte[8];
        Assert.That(nic.DmaRead(0x9000, scratch), Is.EqualTo(DmaStatus.Ok));

        nic.AtsInvalidationsTimeOut = true;
        rig.Guest.Unmap(1, 0x9000, 4096);
        nic.AtsInvalidationsTimeOut = false;

        var failure = rig.Guest.Queue.Statistics.Failures.Single();
        Assert.Multiple(() =>
        {
            Assert.That(failure.Error, Is.EqualTo(CommandError.CERROR_ATC_INV_SYNC));
            Assert.That(failure.Opcode, Is.EqualTo(SmmuOpcode.CMD_SYNC), "reported on the CMD_SYNC after the ATC_INV, as the spec says");
            Assert.That(rig.Guest.Queue.Statistics.Errors(CommandError.CERROR_ATC_INV_SYNC), Is.EqualTo(1));
        });

        // Recovery: the next unmap on the same device goes through.
        rig.Guest.Map(1, 0xA000, buffer, 4096, IommuProtection.Read);
        Assert.That(rig.Guest.Unmap(1, 0xA000, 4096), Is.True);
        Assert.That(rig.Guest.Queue.Statistics.Failures, Has.Count.EqualTo(1));
    }

    [Test]
    public void An_event_queue_overflow_drops_events_once_and_the_guest_sees_OVFLG()
    {
        using var rig = new Rig(new GuestSmmuOptions { EventQueueLog2Entries = 1 }); // two records
        var disk = rig.Vm.Devices[1].Device;
        var scratch = new byte[8];
        for (int i = 0; i < 6; i++)
        {
            Assert.That(disk.DmaRead(0x7700_0000UL + ((ulong)i << 12), scratch), Is.EqualTo(DmaStatus.TranslationFault));
        }

        rig.Vm.Smmu.DeliverEvents();
        var events = rig.Guest.ReadEvents();
        Assert.Multiple(() =>
        {
            Assert.That(events, Has.Count.EqualTo(2), "the queue held two");
            Assert.That(events.All(e => e.Id == SmmuEventId.F_TRANSLATION && e.StreamId == 2), Is.True, "vSID, not the physical SID");
            Assert.That(rig.Vm.Smmu.Counters.EventsDropped, Is.EqualTo(4));
            Assert.That(rig.Guest.EventQueueOverflows, Is.EqualTo(1));
        });
    }
}
