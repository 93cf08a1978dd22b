using Iommufd.Core;
using Microsoft.Extensions.Logging;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>The SMMUv3 driver's source-generated log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "{Smmu}: probed {Features}")]
    public static partial void Probed(ILogger logger, string smmu, ProbedFeatures features);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "{Smmu}: event {Event} not relayed: {Reason}")]
    public static partial void EventNotRelayed(ILogger logger, string smmu, Hardware.SmmuEvent @event, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "{Smmu}: event queue overflowed; events were lost")]
    public static partial void EventQueueOverflow(ILogger logger, string smmu);

    [LoggerMessage(EventId = 104, Level = LogLevel.Error, Message = "{Queue}: timeout waiting for {Wait} (prod 0x{Prod:x8}, cons 0x{Cons:x8})")]
    public static partial void QueueTimeout(ILogger logger, string queue, string wait, uint prod, uint cons);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "{Queue}: stopped by an unexpected exception (contained)")]
    public static partial void QueueFaulted(ILogger logger, string queue, Exception exception);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "{Smmu}: stage-2 fault {Event} kept by the host, never relayed to a guest")]
    public static partial void Stage2Fault(ILogger logger, string smmu, Hardware.SmmuEvent @event);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "{Smmu}: {Operation} could not complete its invalidation ({Errno}), attempt {Attempt} of {Attempts}")]
    public static partial void InvalidationIncomplete(ILogger logger, string smmu, string operation, Errno errno, int attempt, int attempts);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "{Queue}: command error {Error} at cons 0x{Cons:x8} is in a batch that timed out; the queue is fixed, the error goes to no batch")]
    public static partial void StaleCommandError(ILogger logger, string queue, Hardware.CommandError error, uint cons);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "{Smmu}: global error {Error} acknowledged")]
    public static partial void GlobalError(ILogger logger, string smmu, Hardware.GlobalError error);
}
