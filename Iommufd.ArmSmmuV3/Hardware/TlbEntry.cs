namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>One cached translation: an aligned input block of 2^Shift bytes.</summary>
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

    public ulong InputLast => InputBase + ((1UL << Shift) - 1);

    public bool Overlaps(ulong start, ulong last) => InputBase <= last && start <= InputLast;
}
