using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// The guest driver on bare emulated hardware: an SMMUv3 (the guest's view: stage 1 only unless asked) as the
/// register space, one bank of physical memory as guest RAM (IPA = PA), and endpoint devices doing DMA.
/// </summary>
internal sealed class GuestRig : IDisposable
{
    public const int RamSize = 8 << 20;

    public GuestRig(SmmuV3Features? features = null, GuestSmmuOptions? options = null)
    {
        Features = features ?? new SmmuV3Features { Stage2 = false };
        Memory = new PhysicalMemory();
        Smmu = new SmmuV3("guest-view-smmu", Features, Memory);
        Mmio = new SmmuMmio(Smmu);
        Ram = new BankGuestMemory(Memory, RamSize);
        Driver = new GuestSmmuDriver(Mmio, Ram, options);
    }

    public SmmuV3Features Features { get; }

    public PhysicalMemory Memory { get; }

    public SmmuV3 Smmu { get; }

    public SmmuMmio Mmio { get; }

    public BankGuestMemory Ram { get; }

    public GuestSmmuDriver Driver { get; }

    /// <summary>Connects an endpoint with StreamID <paramref name="sid"/> to the SMMU.</summary>
    public EndpointDevice Connect(uint sid, bool ats = false)
    {
        var device = new EndpointDevice($"dev{sid}", sid, ats, null!);
        Smmu.ConnectEndpoint(device);
        return device;
    }

    /// <summary>Allocates <paramref name="pages"/> pages of guest RAM filled with <paramref name="fill"/>; returns the IPA.</summary>
    public ulong DataPages(byte fill, int pages = 1)
    {
        ulong ipa = Ram.Allocate((ulong)pages * 4096, 4096);
        Ram.Bytes(ipa, pages * 4096).Fill(fill);
        return ipa;
    }

    public DmaStatus DmaRead(uint sid, ulong iova, out byte[] data, int length = 16)
    {
        data = new byte[length];
        return Smmu.Dma(sid, iova, data, DmaDirection.Read);
    }

    public DmaStatus DmaWrite(uint sid, ulong iova, byte value, int length = 16)
    {
        var data = new byte[length];
        Array.Fill(data, value);
        return Smmu.Dma(sid, iova, data, DmaDirection.Write);
    }

    public void Dispose() => Smmu.Dispose();
}
