using Iommufd.Core.Devices;

namespace Iommufd.Vmm;

/// <summary>A device passed through to the VM: its iommufd IDs and the StreamID the guest knows it by.</summary>
public sealed class VmDevice
{
    internal VmDevice(EndpointDevice device, uint devId, uint virtualSid)
    {
        Device = device;
        DevId = devId;
        VirtualSid = virtualSid;
    }

    /// <summary>The platform device passed through.</summary>
    public EndpointDevice Device { get; }

    /// <summary>Its device ID in the VM's iommufd (from VFIO_DEVICE_BIND_IOMMUFD).</summary>
    public uint DevId { get; }

    /// <summary>The vSID: the StreamID in the guest's stream table and commands.</summary>
    public uint VirtualSid { get; }

    /// <summary>Its vDEVICE's ID, which ties <see cref="VirtualSid"/> to the device in the vIOMMU.</summary>
    public uint VdeviceId { get; internal set; }

    /// <summary>The HWPT the device is attached to now (abort, bypass or the guest's stage 1).</summary>
    public uint AttachedHwpt { get; internal set; }

    /// <summary>A nested HWPT built from the guest's STE, owned by the VMM (destroyed when replaced).</summary>
    internal uint OwnedStage1Hwpt { get; set; }
}
