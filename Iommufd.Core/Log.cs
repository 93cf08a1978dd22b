using Microsoft.Extensions.Logging;

namespace Iommufd.Core;

/// <summary>The core's source-generated log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Destroyed object {Id}")]
    public static partial void ObjectDestroyed(ILogger logger, uint id);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "iommufd file closed; {Count} objects destroyed")]
    public static partial void FileClosed(ILogger logger, int count);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "iommufd file closed with {Count} objects still in use: a reference-counting bug; they are leaked")]
    public static partial void ObjectsLeftAtClose(ILogger logger, int count);
}
