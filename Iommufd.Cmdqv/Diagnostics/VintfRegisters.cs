using System.Collections.Immutable;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Cmdqv.Diagnostics;

/// <summary>
/// The registers of one VINTF as they read at one moment (tegra241-cmdqv.c TEGRA241_VINTF_*): CONFIG, the SID
/// match/replace pairs and LVCMDQ_ERR_MAP.
/// </summary>
/// <param name="Index">The VINTF's index (VINTF0 is the host's).</param>
/// <param name="Config">VINTF_CONFIG: EN [0], VMID [16:1], HYP_OWN [17].</param>
/// <param name="LvcmdqErrorMap">LVCMDQ_ERR_MAP: bit n set while logical queue n has an active error.</param>
/// <param name="SidMatch">SID_MATCH of each pair: the virtual StreamID in [31:1], ENABLE in [0].</param>
/// <param name="SidReplace">SID_REPLACE of each pair: the physical StreamID a match becomes.</param>
public readonly record struct VintfRegisters(
    int Index, uint Config, UInt128 LvcmdqErrorMap, ImmutableArray<uint> SidMatch, ImmutableArray<uint> SidReplace)
{
    /// <summary>CONFIG.EN.</summary>
    public bool Enabled => (Config & CmdqvRegister.VINTF_CONFIG_EN) != 0;

    /// <summary>CONFIG.VMID: the VMID the VINTF's queues put into every command.</summary>
    public ushort Vmid => (ushort)(Config >> CmdqvRegister.VINTF_CONFIG_VMID_SHIFT);

    /// <summary>CONFIG.HYP_OWN: the host owns the VINTF, so its queues take every command.</summary>
    public bool HypOwn => (Config & CmdqvRegister.VINTF_CONFIG_HYP_OWN) != 0;
}
