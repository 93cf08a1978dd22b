using Iommufd.Cmdqv.Hardware;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// A guest with a CMDQV on bare hardware: a <see cref="Tegra241Cmdqv"/> over the rig's SMMU as the guest's CMDQV
/// registers, with the guest SMMU driver's commands going through the CMDQV driver's path. Acting as the host, the
/// rig can first set VINTF0 up as a guest-owned VINTF (EN and VMID, HYP_OWN clear) with a SID pair, as the host
/// kernel does for a VM (tegra241-cmdqv.c tegra241_cmdqv_init_vintf_user(), tegra241_vintf_init_vsid()).
/// </summary>
internal sealed class GuestCmdqvRig : IDisposable
{
    public GuestCmdqvRig(bool guestOwnedVintf = true, uint? sidPair = null)
    {
        Rig = new GuestRig();
        Cmdqv = new Tegra241Cmdqv("cmdqv", new CmdqvFeatures(), Rig.Smmu);
        if (guestOwnedVintf)
        {
            // VMID 0: this SMMU has no stage 2, so a TLBI's VMID must be 0, and its IOTLB tags everything with 0.
            HostWrite(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN | (0u << CmdqvRegister.VINTF_CONFIG_VMID_SHIFT));
        }

        if (sidPair is uint sid)
        {
            // On bare hardware the guest's StreamIDs are the physical ones: the pair maps a SID to itself.
            HostWrite(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_SID_REPLACE, sid);
            HostWrite(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_SID_MATCH, (sid << 1) | 1);
        }

        Driver = new GuestCmdqvDriver(new CmdqvMmio(Cmdqv), Rig.Ram);
        Path = Driver.CreateCommandPath(Rig.Driver.Queue);
        Rig.Driver.CommandPath = Path;
    }

    public GuestRig Rig { get; }

    public Tegra241Cmdqv Cmdqv { get; }

    public GuestCmdqvDriver Driver { get; }

    public VcmdqCommandPath Path { get; }

    /// <summary>Entries the SMMU's own queue consumed.</summary>
    public long SmmuConsumed => Rig.Smmu.CommandQueue.Consumed;

    /// <summary>Entries global VCMDQ 0 (VINTF0's LVCMDQ 0) consumed.</summary>
    public long VcmdqConsumed => Cmdqv.Queues[0].Queue.Consumed;

    public void HostWrite(uint offset, uint value) => Cmdqv.WriteRegister(offset, value);

    public void Dispose()
    {
        Cmdqv.Dispose();
        Rig.Dispose();
    }
}
