using System.Diagnostics.Metrics;
using Iommufd.ArmSmmuV3.Driver;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Iommufd.Cmdqv.Driver;

/// <summary>Gives an SMMUv3 its CMDQV implementation when the options name that SMMU.</summary>
internal sealed class CmdqvImplementationFactory(IOptions<CmdqvRegistry> registry, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null) : ISmmuV3ImplementationFactory
{
    private readonly CmdqvMetrics _metrics = new(meterFactory);

    public ISmmuV3Implementation? Create(SmmuV3Host host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var matches = registry.Value.Options.Where(o => o.Smmu == host.Name).ToList();
        if (matches.Count == 0)
        {
            return null;
        }

        var errors = matches.Count > 1 ? [$"more than one CMDQV beside '{host.Name}'"] : matches[0].Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(CmdqvOptions), typeof(CmdqvOptions), errors);
        }

        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<CmdqvImplementation>();
        return new CmdqvImplementation(host, matches[0], logger, _metrics);
    }
}
