using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Microsoft.Extensions.Options;

namespace Iommufd.Core.Devices;

/// <summary>
/// The emulated machine: physical memory, the IOMMU instances the driver plugins probed, and the endpoint
/// devices behind them.
/// </summary>
public sealed class Platform
{
    private readonly Dictionary<string, EndpointDevice> _devices = new(StringComparer.Ordinal);
    private readonly Lock _bindLock = new(); // guards _bound
    private readonly Dictionary<EndpointDevice, object> _bound = [];

    /// <summary>
    /// Builds the machine from the IOMMU instances the drivers probed and the devices the options list; throws <see
    /// cref="OptionsValidationException"/> when the options name an IOMMU no driver provides, reuse a name or a
    /// StreamID, or give an out-of-range PASID width.
    /// </summary>
    public Platform(PhysicalMemory memory, IEnumerable<IIommuDriver> drivers, IOptions<PlatformOptions> options)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(drivers);
        ArgumentNullException.ThrowIfNull(options);
        Memory = memory;
        Iommus = [.. drivers.SelectMany(d => d.Instances)];
        var errors = options.Value.Validate(Iommus.Select(i => i.Name));
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(PlatformOptions), typeof(PlatformOptions), errors);
        }

        foreach (var d in options.Value.Devices)
        {
            var iommu = Iommus.First(i => i.Name == d.Iommu);
            var device = new EndpointDevice(d.Name, d.StreamId, d.AtsCapable, iommu, d.PasidBits);
            iommu.ProbeDevice(device);
            _devices.Add(d.Name, device);
        }
    }

    /// <summary>The machine's physical memory.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>Every IOMMU instance.</summary>
    public IReadOnlyList<IIommuInstance> Iommus { get; }

    /// <summary>Every endpoint device, in the order the options list them.</summary>
    public IEnumerable<EndpointDevice> Devices => _devices.Values;

    /// <summary>The device named <paramref name="name"/>.</summary>
    public EndpointDevice GetDevice(string name) =>
        _devices.TryGetValue(name, out var d) ? d : throw new KeyNotFoundException($"no device '{name}'");

    /// <summary>Marks a device as bound to <paramref name="owner"/>; false if another file has it.</summary>
    internal bool TryBind(EndpointDevice device, object owner)
    {
        lock (_bindLock)
        {
            return _bound.TryAdd(device, owner);
        }
    }

    internal void Unbind(EndpointDevice device)
    {
        lock (_bindLock)
        {
            _bound.Remove(device);
        }
    }
}
