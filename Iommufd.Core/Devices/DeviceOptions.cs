namespace Iommufd.Core.Devices;

/// <summary>One endpoint device of the emulated platform.</summary>
public sealed class DeviceOptions
{
    /// <summary>A unique name.</summary>
    public string Name { get; set; } = "";

    /// <summary>The name of the IOMMU instance the device sits behind.</summary>
    public string Iommu { get; set; } = "";

    /// <summary>The device's physical StreamID.</summary>
    public uint StreamId { get; set; }

    /// <summary>True when the device supports ATS (it has an ATC).</summary>
    public bool AtsCapable { get; set; }

    /// <summary>The PCIe PASID capability's Max PASID Width (1..20); 0: no PASID capability.</summary>
    public int PasidBits { get; set; }
}
