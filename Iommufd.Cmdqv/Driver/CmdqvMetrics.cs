using System.Diagnostics.Metrics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Cmdqv.Driver;

/// <summary>
/// The CMDQV driver's instruments, on the meter <see cref="MeterName"/> from the service provider's
/// <see cref="IMeterFactory"/>: guest commands the host fixed up, guest queue errors no vEVENTQ could take, and
/// contained queue faults. Tags are built only when observed.
/// </summary>
public sealed class CmdqvMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Iommufd.Cmdqv";

    private readonly Counter<long> _fixups;
    private readonly Counter<long> _errorsNotRelayed;
    private readonly Counter<long> _faults;

    /// <summary>Instruments on the meter <paramref name="meterFactory"/> makes (without one, on a meter of their own).</summary>
    internal CmdqvMetrics(IMeterFactory? meterFactory)
    {
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _fixups = Meter.CreateCounter<long>("iommufd.cmdqv.fixups", unit: "{command}", description: "Guest commands the host ran for a guest VCMDQ, by opcode");
        _errorsNotRelayed = Meter.CreateCounter<long>("iommufd.cmdqv.errors_not_relayed", unit: "{error}", description: "Guest queue errors with no vEVENTQ to report them to (relay drops)");
        _faults = Meter.CreateCounter<long>("iommufd.cmdqv.queue_faults", unit: "{fault}", description: "VCMDQs (or host fix-ups) stopped by an unexpected exception, contained on the consuming thread");
    }

    /// <summary>The meter the instruments are on (tests collect from it).</summary>
    internal Meter Meter { get; }

    internal void RecordFixup(SmmuOpcode opcode)
    {
        if (_fixups.Enabled)
        {
            _fixups.Add(1, new KeyValuePair<string, object?>("opcode", opcode.ToString()));
        }
    }

    internal void RecordNotRelayed(string smmu)
    {
        if (_errorsNotRelayed.Enabled)
        {
            _errorsNotRelayed.Add(1, new KeyValuePair<string, object?>("smmu", smmu));
        }
    }

    internal void RecordFault(string smmu)
    {
        if (_faults.Enabled)
        {
            _faults.Add(1, new KeyValuePair<string, object?>("smmu", smmu));
        }
    }
}
