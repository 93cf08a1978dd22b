using Iommufd.Core.Driver;

namespace Iommufd.Core.Devices;

/// <summary>
/// An endpoint device of the emulated platform (a PCI function behind an IOMMU): it has a StreamID, may speak
/// ATS, and issues DMA through whatever its IOMMU instance has attached it to.
/// </summary>
public sealed class EndpointDevice
{
    /// <summary>The widest PASID PCIe defines (the PASID capability's Max PASID Width).</summary>
    public const int MaxPasidBits = 20;

    internal EndpointDevice(string name, uint streamId, bool atsCapable, IIommuInstance iommu, int pasidBits = 0)
    {
        Name = name;
        StreamId = streamId;
        AtsCapable = atsCapable;
        Iommu = iommu;
        PasidBits = pasidBits;
    }

    /// <summary>The device's name in the platform options.</summary>
    public string Name { get; }

    /// <summary>The physical StreamID (requester ID) the IOMMU sees.</summary>
    public uint StreamId { get; }

    /// <summary>True when the device has an address translation cache (PCIe ATS).</summary>
    public bool AtsCapable { get; }

    /// <summary>The PASID capability's Max PASID Width; 0 when the device has no PASID capability.</summary>
    public int PasidBits { get; }

    /// <summary>The IOMMU instance the device sits behind.</summary>
    public IIommuInstance Iommu { get; }

    /// <summary>
    /// When set, the device does not answer ATS invalidation requests (a broken or hung endpoint); used to
    /// exercise ATC invalidation timeouts.
    /// </summary>
    public bool AtsInvalidationsTimeOut { get; set; }

    /// <summary>DMA read of <paramref name="destination"/>.Length bytes at <paramref name="iova"/>.</summary>
    public DmaStatus DmaRead(ulong iova, Span<byte> destination) =>
        Iommu.Dma(this, iova, destination, DmaDirection.Read);

    /// <summary>DMA write of <paramref name="source"/> at <paramref name="iova"/>.</summary>
    public DmaStatus DmaWrite(ulong iova, ReadOnlySpan<byte> source) =>
        Iommu.Dma(this, iova, System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source), source.Length), DmaDirection.Write);

    /// <summary>DMA read with a PASID TLP prefix (SubstreamID <paramref name="pasid"/>).</summary>
    public DmaStatus DmaRead(uint pasid, ulong iova, Span<byte> destination) =>
        Iommu.Dma(this, CheckPasid(pasid), iova, destination, DmaDirection.Read);

    /// <summary>DMA write with a PASID TLP prefix.</summary>
    public DmaStatus DmaWrite(uint pasid, ulong iova, ReadOnlySpan<byte> source) =>
        Iommu.Dma(this, CheckPasid(pasid), iova, System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source), source.Length), DmaDirection.Write);

    /// <summary>The device's name and StreamID, as messages name it.</summary>
    public override string ToString() => $"{Name} (SID {StreamId:x})";

    /// <summary>A device emits no PASID wider than its capability says.</summary>
    private uint CheckPasid(uint pasid) =>
        pasid >> PasidBits == 0 ? pasid : throw new ArgumentOutOfRangeException(nameof(pasid), pasid, $"{this} has a {PasidBits}-bit PASID capability");
}
