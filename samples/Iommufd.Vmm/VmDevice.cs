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

    public EndpointDevice Device { get; }

    public uint DevId { get; }

    /// <summary>The vSID: the StreamID in the guest's stream table and commands.</summary>
    public uint VirtualSid { get; }

    public uint VdeviceId { get; internal set; }

    /// <summary>The HWPT the device is attached to now (abort, bypass or the guest's stage 1).</summary>
    public uint AttachedHwpt { get; internal set; }

    /// <summary>A nested HWPT built from the guest's STE, owned by the VMM (destroyed when replaced).</summary>
    internal uint OwnedStage1Hwpt { get; set; }
}
