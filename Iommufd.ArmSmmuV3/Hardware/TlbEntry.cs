namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>One cached translation: an aligned input block of 2^Shift bytes.</summary>
/// <param name="Vmid">The VMID it was made for (0 on an SMMU without stage 2).</param>
/// <param name="Asid">The ASID of a non-global stage-1 entry; <see cref="NoAsid"/> for a global or stage-2 entry.</param>
/// <param name="Stage">Which translation it caches.</param>
/// <param name="InputBase">The first input address (VA, or IPA for stage 2) of the block.</param>
/// <param name="Shift">log2 of the block's size.</param>
/// <param name="Level">The table level the walk ended at (stage 1's for a nested entry).</param>
/// <param name="OutputBase">The physical address the block starts at.</param>
/// <param name="Readable">Reads are permitted.</param>
/// <param name="Writable">Writes are permitted.</param>
public readonly record struct TlbEntry(
    ushort Vmid,
    int Asid,
    TlbStage Stage,
    ulong InputBase,
    int Shift,
    int Level,
    ulong OutputBase,
    bool Readable,
    bool Writable)
{
    /// <summary>ASID value of a global (nG = 0) stage-1 entry or a stage-2 entry: it matches every ASID.</summary>
    public const int NoAsid = -1;

    /// <summary>The last input address of the block.</summary>
    public ulong InputLast => InputBase + ((1UL << Shift) - 1);

    /// <summary>True when the block and the input range [<paramref name="start"/>, <paramref name="last"/>] share an address.</summary>
    /// <param name="start">The range's first address.</param>
    /// <param name="last">The range's last address.</param>
    public bool Overlaps(ulong start, ulong last) => InputBase <= last && start <= InputLast;
}
