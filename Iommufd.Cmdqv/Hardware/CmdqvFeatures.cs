namespace Iommufd.Cmdqv.Hardware;

/// <summary>
/// The counts an emulated CMDQV reports in PARAM (read by tegra241-cmdqv.c __tegra241_cmdqv_probe()). Defaults: 4
/// VINTFs, 16 VCMDQs (4 per VINTF) and 16 SID pairs per VINTF.
/// </summary>
public sealed record CmdqvFeatures
{
    /// <summary>PARAM.VER [3:0] (tegra241-cmdqv.c CMDQV_VER): the CMDQV version reported.</summary>
    public int Version { get; init; } = 1;

    /// <summary>log2 of the VINTFs (at most 6: 64 VINTFs).</summary>
    public int VintfLog2 { get; init; } = 2;

    /// <summary>log2 of the global VCMDQs (at most 7: 128 VCMDQs); at least <see cref="VintfLog2"/>.</summary>
    public int VcmdqLog2 { get; init; } = 4;

    /// <summary>log2 of the SID match/replace pairs per VINTF (at most 4: 16 pairs).</summary>
    public int SidPerVintfLog2 { get; init; } = 4;

    /// <summary>The number of VINTFs, 2^<see cref="VintfLog2"/> (tegra241_cmdqv num_vintfs).</summary>
    public int Vintfs => 1 << VintfLog2;

    /// <summary>The number of global VCMDQs, 2^<see cref="VcmdqLog2"/> (tegra241_cmdqv num_vcmdqs).</summary>
    public int Vcmdqs => 1 << VcmdqLog2;

    /// <summary>The logical VCMDQs each VINTF gets, the global ones shared out evenly (tegra241_cmdqv num_lvcmdqs_per_vintf).</summary>
    public int LvcmdqsPerVintf => Vcmdqs / Vintfs;

    /// <summary>The SID match/replace pairs of each VINTF, 2^<see cref="SidPerVintfLog2"/>.</summary>
    public int SidPairs => 1 << SidPerVintfLog2;

    /// <summary>The PARAM register: VER [3:0], NUM_VCMDQ_LOG2 [7:4], NUM_VINTF_LOG2 [11:8], NUM_SID_PER_VM_LOG2 [15:12].</summary>
    public uint Param => (uint)(Version & 0xF) | ((uint)VcmdqLog2 << 4) | ((uint)VintfLog2 << 8) | ((uint)SidPerVintfLog2 << 12);

    /// <summary>Checks the counts against the PARAM field widths; returns the problems found.</summary>
    public List<string> Validate()
    {
        var errors = new List<string>();
        if (VintfLog2 is < 0 or > 6)
        {
            errors.Add("VintfLog2 must be 0..6 (up to 64 VINTFs)");
        }

        if (VcmdqLog2 is < 0 or > 7 || VcmdqLog2 < VintfLog2)
        {
            errors.Add("VcmdqLog2 must be 0..7 (up to 128 VCMDQs) and at least VintfLog2");
        }

        if (SidPerVintfLog2 is < 0 or > 4)
        {
            errors.Add("SidPerVintfLog2 must be 0..4 (up to 16 pairs)");
        }

        return errors;
    }
}
