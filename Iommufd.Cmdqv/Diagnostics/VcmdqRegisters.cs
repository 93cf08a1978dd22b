using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Cmdqv.Diagnostics;

/// <summary>
/// The registers and state of one global VCMDQ as they read at one moment (tegra241-cmdqv.c TEGRA241_VCMDQ_*).
/// </summary>
/// <param name="GlobalIndex">The queue's global index.</param>
/// <param name="Vintf">The VINTF it is allocated to (CMDQ_ALLOC), or null.</param>
/// <param name="LogicalIndex">Its logical index in that VINTF (0 when not allocated).</param>
/// <param name="Queue">VCMDQ_BASE, VCMDQ_PROD and VCMDQ_CONS; CONS.ERR is the error the queue stopped on, also while
/// it is held for the host and the guest does not see it yet.</param>
/// <param name="Config">VCMDQ_CONFIG: EN [0].</param>
/// <param name="Status">VCMDQ_STATUS: ENABLED [0].</param>
/// <param name="Gerror">VCMDQ_GERROR.</param>
/// <param name="Gerrorn">VCMDQ_GERRORN.</param>
/// <param name="Held">True while the queue is stopped on a command held for the host fix-up.</param>
/// <param name="Broken">True while consuming the queue is stopped by a fault of the model (never by guest input).</param>
public readonly record struct VcmdqRegisters(
    int GlobalIndex, int? Vintf, int LogicalIndex, QueueRegisters Queue, uint Config, uint Status, uint Gerror, uint Gerrorn,
    bool Held, bool Broken)
{
    /// <summary>CONFIG.EN.</summary>
    public bool Enabled => (Config & CmdqvRegister.VCMDQ_EN) != 0;

    /// <summary>True while GERROR and GERRORN differ in CMDQ_ERR: the queue has an error software has not acknowledged.</summary>
    public bool ErrorActive => ((Gerror ^ Gerrorn) & 1) != 0;
}
