using System.Diagnostics.Metrics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// The SMMUv3 driver's instruments (meter <c>Iommufd.ArmSmmuV3</c>): queue waits that timed out, invalidations that
/// could not complete, stage-2 faults kept by the host, contained engine faults, and the engine threads alive. Tags are built only when observed.
/// </summary>
public static class SmmuV3Metrics
{
    public const string MeterName = "Iommufd.ArmSmmuV3";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Timeouts = Meter.CreateCounter<long>("iommufd.smmuv3.queue_timeouts", description: "Host command-queue waits (space or CMD_SYNC) that ended in ETIMEDOUT");

    private static readonly Counter<long> Incomplete = Meter.CreateCounter<long>("iommufd.smmuv3.invalidations_incomplete", description: "Unmaps, detaches and domain frees whose invalidation did not complete after every retry");

    private static readonly Counter<long> Faults = Meter.CreateCounter<long>("iommufd.smmuv3.queue_faults", description: "Command queues stopped by an unexpected exception, contained on the consuming thread");

    private static readonly Counter<long> Stage2Faults = Meter.CreateCounter<long>("iommufd.smmuv3.stage2_faults", description: "Stage-2 fault events the host kept (never relayed to a guest's vEVENTQ)");

    private static readonly ObservableGauge<long> EngineThreads = Meter.CreateObservableGauge("iommufd.engine_threads", () => QueueEngine.LiveThreads, description: "Queue engine threads alive");

    internal static void RecordTimeout(string queue, string wait)
    {
        if (Timeouts.Enabled)
        {
            Timeouts.Add(1, new KeyValuePair<string, object?>("queue", queue), new KeyValuePair<string, object?>("wait", wait));
        }
    }

    internal static void RecordIncomplete(string smmu, string operation)
    {
        if (Incomplete.Enabled)
        {
            Incomplete.Add(1, new KeyValuePair<string, object?>("smmu", smmu), new KeyValuePair<string, object?>("operation", operation));
        }
    }

    internal static void RecordStage2Fault(string smmu)
    {
        if (Stage2Faults.Enabled)
        {
            Stage2Faults.Add(1, new KeyValuePair<string, object?>("smmu", smmu));
        }
    }

    internal static void RecordFault(string queue)
    {
        if (Faults.Enabled)
        {
            Faults.Add(1, new KeyValuePair<string, object?>("queue", queue));
        }
    }
}
