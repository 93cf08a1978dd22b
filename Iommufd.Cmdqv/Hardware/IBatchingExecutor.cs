using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Cmdqv.Hardware;

/// <summary>
/// An executor that may hold commands back until a CMD_SYNC (a software VCMDQ batching them for the host queue).
/// The CMDQV calls <see cref="Flush"/> when a queue stops, so nothing consumed is left unexecuted.
/// </summary>
internal interface IBatchingExecutor : ICommandExecutor
{
    /// <summary>
    /// Executes what is held back for <paramref name="queue"/>. <paramref name="stoppedOn"/> is the error the queue
    /// stopped on (CERROR_NONE when it drained); the result is the error to report.
    /// </summary>
    CommandError Flush(CommandQueue queue, CommandError stoppedOn);
}
