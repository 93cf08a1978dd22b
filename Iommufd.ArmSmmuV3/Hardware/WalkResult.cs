namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>The outcome of one table walk (one stage).</summary>
public readonly record struct WalkResult(
    TranslationFault Fault,
    int Level,
    ulong OutputBase,
    int BlockShift,
    bool Readable,
    bool Writable,
    bool Global)
{
    public bool IsFault => Fault != TranslationFault.None;

    /// <summary>The output address of <paramref name="input"/> within this block or page.</summary>
    public ulong Output(ulong input) => OutputBase | (input & ((1UL << BlockShift) - 1));

    public static WalkResult Failed(TranslationFault fault, int level) => new(fault, level, 0, 0, false, false, false);
}
