namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>How an emulated device consumes its queues.</summary>
public enum ExecutionMode
{
    /// <summary>A doorbell (PROD write) consumes the queue on the writer's thread: deterministic, for tests.</summary>
    Inline,

    /// <summary>
    /// Engine threads consume queues, and a doorbell consumes on the ringing thread while no engine thread is busy with
    /// the queue: realistic concurrency, for the samples and benchmarks.
    /// </summary>
    Threaded,
}
