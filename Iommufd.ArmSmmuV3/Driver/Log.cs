using Iommufd.Core;
using Microsoft.Extensions.Logging;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>The SMMUv3 driver's source-generated log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "{Smmu}: probed {Features}")]
    public static partial void Probed(ILogger logger, string smmu, ProbedFeatures features);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "{Smmu}: host command {Command} failed with {Errno}")]
    public static partial void CommandFailed(ILogger logger, string smmu, string command, Errno errno);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "{Smmu}: event {Event} not relayed: {Reason}")]
    public static partial void EventNotRelayed(ILogger logger, string smmu, Hardware.SmmuEvent @event, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "{Smmu}: event queue overflowed; events were lost")]
    public static partial void EventQueueOverflow(ILogger logger, string smmu);
}
