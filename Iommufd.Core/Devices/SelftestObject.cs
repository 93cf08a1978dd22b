using Iommufd.Core.Objects;

namespace Iommufd.Core.Devices;

/// <summary>
/// IOMMUFD_OBJ_SELFTEST of type TYPE_IDEV (selftest.c): owns a device IOMMU_TEST_OP_MOCK_DOMAIN made and bound;
/// destroying it unbinds the device (iommufd_selftest_destroy()).
/// </summary>
internal sealed class SelftestObject : IommufdObject
{
    private readonly Action<SelftestObject> _destroy;

    public SelftestObject(EndpointDevice device, uint devId, Action<SelftestObject> destroy)
    {
        Device = device;
        DevId = devId;
        _destroy = destroy;
    }

    public override IommufdObjectType Type => IommufdObjectType.Selftest;

    public EndpointDevice Device { get; }

    /// <summary>The bound device's ID in the file.</summary>
    public uint DevId { get; }

    internal override void Destroy() => _destroy(this);
}
