using Microsoft.Extensions.Logging;

namespace Iommufd.Cmdqv.Driver;

/// <summary>The CMDQV driver's source-generated log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "CMDQV beside {Smmu}: {Backend} VCMDQs, {Vintfs} VINTFs, {Queues} queues per VINTF")]
    public static partial void Started(ILogger logger, string smmu, VcmdqBackend backend, int vintfs, int queues);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "CMDQV beside {Smmu}: VINTF {Vintf} queue error (map {Map}) and no vEVENTQ to report it to")]
    public static partial void ErrorNotRelayed(ILogger logger, string smmu, int vintf, UInt128 map);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "CMDQV beside {Smmu}: VINTF {Vintf} {Opcode} run by the host")]
    public static partial void FixedUp(ILogger logger, string smmu, int vintf, ArmSmmuV3.Hardware.SmmuOpcode opcode);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "CMDQV beside {Smmu}: VINTF {Vintf} {Opcode} could not be run by the host ({Errno}); the guest queue stops on it")]
    public static partial void FixupFailed(ILogger logger, string smmu, int vintf, ArmSmmuV3.Hardware.SmmuOpcode opcode, Core.Errno errno);

    [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "CMDQV beside {Smmu}: {Queue} stopped by an unexpected exception (contained; other queues go on)")]
    public static partial void QueueFaulted(ILogger logger, string smmu, string queue, Exception exception);
}
