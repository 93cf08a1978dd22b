namespace Iommufd.Cmdqv.Hardware;

/// <summary>
/// One virtual interface: the VMID and ownership applied to its queues' commands, 16 SID match/replace pairs,
/// and its LVCMDQ error map (tegra241-cmdqv.c TEGRA241_VINTF_*).
/// </summary>
internal sealed class Vintf
{
    private readonly uint[] _sidMatch;
    private readonly uint[] _sidReplace;
    private UInt128 _errorMap;

    internal Vintf(int index, int sidPairs, int lvcmdqs)
    {
        Index = index;
        _sidMatch = new uint[sidPairs];
        _sidReplace = new uint[sidPairs];
        Lvcmdqs = new Vcmdq?[lvcmdqs];
    }

    public int Index { get; }

    /// <summary>CONFIG: EN [0], VMID [16:1], HYP_OWN [17].</summary>
    public uint Config { get; internal set; }

    public bool Enabled => (Config & CmdqvRegister.VINTF_CONFIG_EN) != 0;

    public ushort Vmid => (ushort)(Config >> CmdqvRegister.VINTF_CONFIG_VMID_SHIFT);

    public bool HypOwn => (Config & CmdqvRegister.VINTF_CONFIG_HYP_OWN) != 0;

    /// <summary>The 128-bit LVCMDQ_ERR_MAP: bit n set while logical queue n has an active error.</summary>
    public UInt128 ErrorMap
    {
        get => _errorMap;
        internal set => _errorMap = value;
    }

    /// <summary>The global VCMDQs mapped as this VINTF's logical queues, by logical index.</summary>
    internal Vcmdq?[] Lvcmdqs { get; }

    public int SidPairs => _sidMatch.Length;

    public uint SidMatch(int pair) => _sidMatch[pair];

    public uint SidReplace(int pair) => _sidReplace[pair];

    internal void SetSidMatch(int pair, uint value) => _sidMatch[pair] = value;

    internal void SetSidReplace(int pair, uint value) => _sidReplace[pair] = value;

    /// <summary>Replaces a virtual StreamID through the enabled match/replace pairs; false when none matches.</summary>
    public bool TryReplaceStreamId(uint virtualSid, out uint physicalSid)
    {
        for (int i = 0; i < _sidMatch.Length; i++)
        {
            uint match = _sidMatch[i];
            if ((match & 1) != 0 && match >> 1 == virtualSid)
            {
                physicalSid = _sidReplace[i];
                return true;
            }
        }

        physicalSid = 0;
        return false;
    }
}
