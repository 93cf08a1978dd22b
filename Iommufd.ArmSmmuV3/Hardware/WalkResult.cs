namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The outcome of one table walk (one stage). <see cref="FetchAddress"/> is, for an external abort, the address of
/// the descriptor that could not be read (an event's FetchAddr, spec §7.3.12).
/// </summary>
internal readonly record struct WalkResult(
    TranslationFault Fault,
    int Level,
    ulong OutputBase,
    int BlockShift,
    bool Readable,
    bool Writable,
    bool Global,
    ulong FetchAddress = 0)
{
    public bool IsFault => Fault != TranslationFault.None;

    /// <summary>The output address of <paramref name="input"/> within this block or page.</summary>
    public ulong Output(ulong input) => OutputBase | (input & ((1UL << BlockShift) - 1));

    public static WalkResult Failed(TranslationFault fault, int level, ulong fetchAddress = 0) => new(fault, level, 0, 0, false, false, false, fetchAddress);
}
