using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// Where the guest driver's commands go: a queue (or a set of queues) that executes SMMUv3 commands in order and
/// completes each submission with a CMD_SYNC (Arm IHI 0070 §4.7.3). The default is the SMMU's own command queue
/// (<see cref="SmmuCommandQueuePath"/>); a guest with a CMDQV routes some commands to its VCMDQ
/// (<see cref="VcmdqCommandPath"/>).
/// </summary>
public interface ICommandPath
{
    /// <summary>A short name for reports ("smmu.cmdq", "vcmdq0").</summary>
    string Name { get; }

    /// <summary>Counters and recorded command failures of this path.</summary>
    CommandPathStatistics Statistics { get; }

    /// <summary>
    /// Issues <paramref name="commands"/> in order followed by a CMD_SYNC the path appends (the commands may hold
    /// CMD_SYNCs of their own), and returns once that sync has completed. Command errors on the way are handled
    /// as a host driver handles them (arm-smmu-v3.c arm_smmu_cmdq_skip_err()) and recorded in <see cref="Statistics"/>;
    /// they do not stop the submission. An empty span issues a CMD_SYNC alone.
    /// </summary>
    /// <returns>True when the final CMD_SYNC completed; false when it did not within the path's timeout.</returns>
    bool Submit(ReadOnlySpan<SmmuCommand> commands);
}
