namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>Executes one command-queue entry for a <see cref="CommandQueue"/> (the SMMU, or a VCMDQ in front of it).</summary>
internal interface ICommandExecutor
{
    /// <summary>Executes <paramref name="command"/> taken from <paramref name="queue"/>; a CERROR stops the queue on it.</summary>
    CommandError Execute(in SmmuCommand command, CommandQueue queue);
}
