using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Diagnostics;

/// <summary>
/// The registers of one SMMU queue as they read at one moment: BASE, PROD and CONS (Arm IHI 0070 §6.3, SMMU_CMDQ_*
/// and SMMU_EVENTQ_*; a Tegra241 VCMDQ has the command queue's layout).
/// </summary>
/// <param name="Base">Q_BASE: the queue's address and LOG2SIZE [4:0].</param>
/// <param name="Prod">Q_PROD: the producer index and wrap bit (and, for the event queue, OVFLG [31]).</param>
/// <param name="Cons">Q_CONS: the consumer index and wrap bit (for a command queue ERR [30:24]; for the event queue
/// OVACKFLG [31]).</param>
public readonly record struct QueueRegisters(ulong Base, uint Prod, uint Cons)
{
    /// <summary>log2 of the number of entries (BASE.LOG2SIZE).</summary>
    public int Log2Size => (int)(Base & 0x1F);

    /// <summary>The queue's address (BASE.ADDR, bits [51:5]).</summary>
    public ulong Address => Base & 0x000F_FFFF_FFFF_FFE0;

    /// <summary>True when PROD and CONS have the same index and wrap bit.</summary>
    public bool IsEmpty => ((Prod ^ Cons) & WrapIndexMask) == 0;

    /// <summary>CMDQ_CONS.ERR: the error the command queue stopped on (always CERROR_NONE for the event queue).</summary>
    public CommandError Error => (CommandError)((Cons >> 24) & 0x7F);

    private uint WrapIndexMask => (2u << Math.Min(Log2Size, 30)) - 1;
}
