using System.Diagnostics.Metrics;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>The SMMUv3 driver plugin: one <see cref="SmmuV3Host"/> per configured instance.</summary>
internal sealed class SmmuV3Driver : IIommuDriver, IDisposable
{
    private readonly List<SmmuV3Host> _hosts = [];

    public SmmuV3Driver(
        PhysicalMemory memory,
        IOptions<SmmuV3Options> options,
        IEnumerable<ISmmuV3ImplementationFactory> implementations,
        ILoggerFactory? loggerFactory = null,
        FailNth? faults = null,
        IMeterFactory? meterFactory = null)
    {
        var errors = options.Value.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(SmmuV3Options), typeof(SmmuV3Options), errors);
        }

        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<SmmuV3Host>();
        var factories = implementations.ToList();
        var metrics = new SmmuV3Metrics(meterFactory);
        foreach (var instance in options.Value.Instances)
        {
            var host = new SmmuV3Host(instance, memory, logger, faults, metrics);
            host.SetImplementation(factories.Select(f => f.Create(host)).FirstOrDefault(i => i is not null));
            _hosts.Add(host);
        }
    }

    public string Name => "arm-smmu-v3";

    public IReadOnlyList<IIommuInstance> Instances => _hosts;

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }
    }
}
