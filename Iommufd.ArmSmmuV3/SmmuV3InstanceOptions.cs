using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3;

/// <summary>One emulated SMMUv3 of the platform and how its host driver runs it.</summary>
public sealed class SmmuV3InstanceOptions
{
    /// <summary>The instance name devices refer to.</summary>
    public string Name { get; set; } = "smmu0";

    /// <summary>What the hardware implements; the ID registers follow from it.</summary>
    public SmmuV3Features Features { get; set; } = new();

    /// <summary>Inline (a doorbell consumes on the caller's thread) or threaded (engine threads).</summary>
    public ExecutionMode ExecutionMode { get; set; } = ExecutionMode.Inline;

    /// <summary>log2 of the host command queue's entries (capped by IDR1.CMDQS).</summary>
    public int HostQueueLog2Size { get; set; } = 10;

    /// <summary>How long the host waits for a CMD_SYNC before answering ETIMEDOUT (Linux: 1 s).</summary>
    public TimeSpan SyncTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often an invalidation that an unmap, detach or domain free depends on is tried when its CMD_SYNC times
    /// out (each failure logged) before the operation reports it (unmap: ETIMEDOUT; free: the VMID and tables
    /// are kept, never reused).
    /// </summary>
    public int InvalidationAttempts { get; set; } = 3;
}
