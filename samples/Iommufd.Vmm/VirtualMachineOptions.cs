namespace Iommufd.Vmm;

/// <summary>How to build a VM.</summary>
public sealed class VirtualMachineOptions
{
    /// <summary>Guest RAM size in bytes.</summary>
    public long RamSize { get; set; } = 16L << 20;

    /// <summary>Where guest RAM starts in the guest's physical address space (and the nest parent's IOVA space).</summary>
    public ulong RamIpa { get; set; } = 0x4000_0000;

    /// <summary>The vIOMMU the guest gets: an SMMUv3 alone, or with a Tegra241 CMDQV.</summary>
    public ViommuKind Viommu { get; set; } = ViommuKind.SmmuV3;

    /// <summary>Platform device names to pass through, with the vSID each gets.</summary>
    public List<(string Name, uint VirtualSid)> Devices { get; } = [];

    /// <summary>
    /// What each trapped guest access (any access to the emulated vSMMU, the CMDQV's emulated pages) costs before
    /// it is emulated; <see cref="TrapCost.Default"/> unless set.
    /// </summary>
    public TrapCost TrapCost { get; set; } = TrapCost.Default;

    /// <summary>Depth of the vEVENTQs.</summary>
    public uint EventQueueDepth { get; set; } = 64;
}
