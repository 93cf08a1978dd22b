using System.Diagnostics.Metrics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// The SMMUv3 driver's instruments, on the meter <see cref="MeterName"/> from the service provider's
/// <see cref="IMeterFactory"/>: queue waits that timed out, invalidations that could not complete, stage-2 faults
/// kept by the host, contained engine faults, and the engine threads alive. Tags are built only when observed.
/// </summary>
public sealed class SmmuV3Metrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Iommufd.ArmSmmuV3";

    private readonly Counter<long> _timeouts;
    private readonly Counter<long> _incomplete;
    private readonly Counter<long> _faults;
    private readonly Counter<long> _stage2Faults;

    /// <summary>Instruments on the meter <paramref name="meterFactory"/> makes (without one, on a meter of their own).</summary>
    internal SmmuV3Metrics(IMeterFactory? meterFactory)
    {
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _timeouts = Meter.CreateCounter<long>("iommufd.smmuv3.queue_timeouts", unit: "{wait}", description: "Host command-queue waits (space or CMD_SYNC) that ended in ETIMEDOUT");
        _incomplete = Meter.CreateCounter<long>("iommufd.smmuv3.invalidations_incomplete", unit: "{operation}", description: "Unmaps, detaches and domain frees whose invalidation did not complete after every retry");
        _faults = Meter.CreateCounter<long>("iommufd.smmuv3.queue_faults", unit: "{fault}", description: "Command queues stopped by an unexpected exception, contained on the consuming thread");
        _stage2Faults = Meter.CreateCounter<long>("iommufd.smmuv3.stage2_faults", unit: "{event}", description: "Stage-2 fault events the host kept (never relayed to a guest's vEVENTQ)");
        Meter.CreateObservableGauge("iommufd.engine_threads", () => QueueEngine.LiveThreads, unit: "{thread}", description: "Queue engine threads alive in the process");
    }

    /// <summary>The meter the instruments are on (tests collect from it).</summary>
    internal Meter Meter { get; }

    internal void RecordTimeout(string queue, string wait)
    {
        if (_timeouts.Enabled)
        {
            _timeouts.Add(1, new KeyValuePair<string, object?>("queue", queue), new KeyValuePair<string, object?>("wait", wait));
        }
    }

    internal void RecordIncomplete(string smmu, string operation)
    {
        if (_incomplete.Enabled)
        {
            _incomplete.Add(1, new KeyValuePair<string, object?>("smmu", smmu), new KeyValuePair<string, object?>("operation", operation));
        }
    }

    internal void RecordStage2Fault(string smmu)
    {
        if (_stage2Faults.Enabled)
        {
            _stage2Faults.Add(1, new KeyValuePair<string, object?>("smmu", smmu));
        }
    }

    internal void RecordFault(string queue)
    {
        if (_faults.Enabled)
        {
            _faults.Add(1, new KeyValuePair<string, object?>("queue", queue));
        }
    }
}
