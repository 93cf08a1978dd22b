namespace Iommufd.Core.Devices;

/// <summary>The emulated machine's endpoint devices. IOMMU instances come from the driver plugins' options.</summary>
public sealed class PlatformOptions
{
    /// <summary>The endpoint devices to create, each behind one IOMMU instance.</summary>
    public List<DeviceOptions> Devices { get; } = [];

    /// <summary>Checks the options against the IOMMU instances the drivers made; returns the problems found.</summary>
    internal List<string> Validate(IEnumerable<string> iommuNames)
    {
        var errors = new List<string>();
        var iommus = new HashSet<string>(iommuNames, StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var streams = new HashSet<(string, uint)>();
        foreach (var d in Devices)
        {
            if (string.IsNullOrWhiteSpace(d.Name))
            {
                errors.Add("a device has no name");
            }
            else if (!names.Add(d.Name))
            {
                errors.Add($"device name '{d.Name}' is used twice");
            }

            if (!iommus.Contains(d.Iommu))
            {
                errors.Add($"device '{d.Name}' names IOMMU '{d.Iommu}', which no driver provides");
            }
            else if (!streams.Add((d.Iommu, d.StreamId)))
            {
                errors.Add($"device '{d.Name}': StreamID {d.StreamId:x} is already used behind '{d.Iommu}'");
            }

            if (d.PasidBits is < 0 or > EndpointDevice.MaxPasidBits)
            {
                errors.Add($"device '{d.Name}': PasidBits must be 0..{EndpointDevice.MaxPasidBits}");
            }
        }

        return errors;
    }
}
