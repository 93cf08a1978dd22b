namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>The SMMU's interrupt sources (wired lines or their MSIs).</summary>
internal enum SmmuInterrupt
{
    /// <summary>A global error became active (GERROR).</summary>
    Gerror,

    /// <summary>The event queue went from empty to non-empty, or overflowed.</summary>
    EventQueue,

    /// <summary>A CMD_SYNC with SIG_IRQ completed (the wired output pulses whether or not an MSI was also written).</summary>
    CmdSync,
}
