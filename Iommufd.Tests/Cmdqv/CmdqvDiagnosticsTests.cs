using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Diagnostics;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// <see cref="CmdqvDiagnostics"/> shows a guest's VINTF (its VMID, its SID pair) and its VCMDQ registers as the guest
/// drives them, on either backend; with <see cref="SmmuV3Diagnostics"/> beside it, the ATC a guest invalidates.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class CmdqvDiagnosticsTests(VcmdqBackend backend)
{
    private const uint Vsid = 0x42;
    private const ushort Asid = 5;
    private const ulong Va = 0x10_0000;

    private static SmmuCommand Sync => SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE);

    [Test]
    public void A_guest_VINTF_carries_the_vIOMMU_VMID_and_its_SID_pair_until_the_VM_goes()
    {
        using var rig = new CmdqvRig(backend);
        var (smmu, cmdqv) = Resolve(rig);
        var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        var vintf = cmdqv.Vintfs()[vm.VintfIndex];
        var viommu = smmu.Viommus().Single();
        int pair = vintf.SidMatch.IndexOf((Vsid << 1) | 1);

        vm.Dispose();
        var released = cmdqv.Vintfs()[vintf.Index];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cmdqv.Backend, Is.EqualTo(backend));
            Assert.That(viommu.Type, Is.EqualTo(IommuViommuType.Tegra241Cmdqv));
            Assert.That((vintf.Enabled, vintf.HypOwn, vintf.Vmid), Is.EqualTo((true, false, viommu.Vmid)), "the guest's VINTF applies the vIOMMU's VMID");
            Assert.That(pair, Is.Not.Negative, "an enabled SID_MATCH holds the vSID");
            Assert.That(vintf.SidReplace[pair], Is.EqualTo(CmdqvRig.SidA), "and SID_REPLACE the device's StreamID");
            Assert.That(released.Enabled, Is.False, "VIOMMU destroy disables the VINTF");
            Assert.That(released.SidMatch, Is.All.Zero, "and clears its SID pairs");
            Assert.That(vintf.Enabled, Is.True, "the earlier snapshot is unchanged");
            Assert.That(smmu.Viommus(), Is.Empty);
        }
    }

    [Test]
    public void A_VCMDQ_shows_the_guests_PROD_and_stops_with_CONS_ERR_in_the_error_maps_on_a_command_no_one_runs()
    {
        using var rig = new CmdqvRig(backend);
        var (_, cmdqv) = Resolve(rig);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        var q = vm.AllocQueue(0, log2Entries: 6);

        q.Submit(SmmuCommandBuilder.TlbiNhAsid(0, Asid), Sync);
        var good = Queue(cmdqv, vm.VintfIndex);
        q.Submit(SmmuCommandBuilder.CfgiSte(Vsid, leaf: true), Sync); // not for a guest VCMDQ, and no fix-up runs CFGI_STE
        var stopped = Queue(cmdqv, vm.VintfIndex);
        var vintf = cmdqv.Vintfs()[vm.VintfIndex];

        using (Assert.EnterMultipleScope())
        {
            Assert.That((good.Enabled, good.Queue.Log2Size, good.Queue.Prod, good.Queue.IsEmpty), Is.EqualTo((true, 6, 2u, true)));
            Assert.That((good.Queue.Error, good.ErrorActive), Is.EqualTo((CommandError.CERROR_NONE, false)));
            Assert.That(stopped.Queue.Prod, Is.EqualTo(4u), "the guest's PROD");
            Assert.That(stopped.Queue.Cons & q.WrapMask, Is.EqualTo(2u), "CONS stays on the CFGI_STE");
            Assert.That((stopped.Queue.Error, stopped.ErrorActive), Is.EqualTo((CommandError.CERROR_ILL, true)));
            Assert.That(cmdqv.CmdqErrorMap(), Is.EqualTo(UInt128.One << stopped.GlobalIndex), "CMDQ_ERR_MAP names the queue");
            Assert.That(cmdqv.VintfErrorMap(), Is.EqualTo(1UL << vm.VintfIndex), "VINTF_ERR_MAP its VINTF");
            Assert.That(vintf.LvcmdqErrorMap, Is.EqualTo(UInt128.One), "LVCMDQ_ERR_MAP its logical index 0");
        }
    }

    [Test]
    public void The_ATC_snapshot_holds_what_the_device_fetched_until_the_guests_ATC_INV()
    {
        using var rig = new CmdqvRig(backend);
        var (smmu, _) = Resolve(rig);
        using var vm = new CmdqvGuest(rig, "a", Vsid, Asid);
        var q = vm.AllocQueue(0);

        vm.MapAndTouch(Va, 2);
        var filled = smmu.AtcEntries(CmdqvRig.SidA);
        q.Submit(SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, address: Va, size: 0), Sync);
        var left = smmu.AtcEntries(CmdqvRig.SidA);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(filled.Select(e => (e.HasSubstream, e.Translation.InputBase)).Order(), Is.EqualTo(new[] { (false, Va), (false, Va + 0x1000) }));
            Assert.That(left.Select(e => e.Translation.InputBase), Is.EqualTo(new[] { Va + 0x1000 }), "ATC_INV of one 4 KiB page, vSID replaced by the SID pair");
            Assert.That(smmu.AtcEntries(CmdqvRig.SidB), Is.Empty, "b fetched nothing");
            Assert.That(smmu.AtcEntries(0x99), Is.Empty, "no endpoint there");
        }
    }

    private static (SmmuV3Diagnostics Smmu, CmdqvDiagnostics Cmdqv) Resolve(CmdqvRig rig)
    {
        var instance = rig.Host.Platform.Iommus.Single();
        return (SmmuV3Diagnostics.For(instance), CmdqvDiagnostics.For(instance));
    }

    /// <summary>The VCMDQ allocated as logical queue 0 of <paramref name="vintf"/>.</summary>
    private static VcmdqRegisters Queue(CmdqvDiagnostics cmdqv, int vintf) =>
        cmdqv.Vcmdqs().Single(q => q.Vintf == vintf && q.LogicalIndex == 0);
}
