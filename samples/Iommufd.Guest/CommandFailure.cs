using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// One command a queue stopped on (CONS.ERR ≠ 0 with GERROR.CMDQ_ERR active), as the guest driver saw it when it
/// handled the error (Arm IHI 0070 §7.1; arm-smmu-v3.c arm_smmu_cmdq_skip_err()).
/// </summary>
/// <param name="Queue">The path's name.</param>
/// <param name="Error">The CERROR code read from CONS.ERR.</param>
/// <param name="Command">The entry at CONS when the error was handled (before a CERROR_ILL entry was replaced).</param>
/// <param name="QueueIndex">CONS.RD: the entry's index in the queue, with the wrap bit.</param>
/// <param name="CommandIndex">
/// The entry's index in the span the caller passed to <see cref="ICommandPath.Submit"/>, or −1 for a CMD_SYNC the
/// path appended (CERROR_ATC_INV_SYNC is always reported there).
/// </param>
public readonly record struct CommandFailure(string Queue, CommandError Error, SmmuCommand Command, uint QueueIndex, int CommandIndex)
{
    /// <summary>The failing entry's opcode.</summary>
    public SmmuOpcode Opcode => Command.Opcode;

    /// <summary>One line for a report: the queue, the CERROR, where it stopped and the command.</summary>
    public override string ToString() =>
        $"{Queue}: {Error} at queue index {QueueIndex} (command {(CommandIndex < 0 ? "CMD_SYNC" : CommandIndex.ToString())}): {Command}";
}
