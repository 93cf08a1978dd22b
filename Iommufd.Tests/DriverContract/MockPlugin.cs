using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;

namespace Iommufd.Tests.DriverContract;

/// <summary>
/// The mock (selftest) driver for the contract suite (drivers/iommu/iommufd/selftest.c). Its nested domains have no
/// stage 1, so a device reaches guest RAM at the IPA itself; vIOMMU invalidations clear the device's four cache slots
/// by <c>vdev_id</c> (mock_viommu_cache_invalidate()), which <see cref="MockIommu.GetDeviceCache"/> shows
/// (DEV_CHECK_CACHE).
/// </summary>
public sealed class MockPlugin : IDriverContractPlugin
{
    public string IommuName => "mock0";

    public IommuViommuType ViommuType => IommuViommuType.Selftest;

    public IommuVeventqType VeventqType => IommuVeventqType.Selftest;

    public IommuHwptDataType NestedDataType => IommuHwptDataType.Selftest;

    public uint InvalidationDataType => (uint)IommuHwptInvalidateDataType.Selftest;

    public uint EntryLength => (uint)Marshal.SizeOf<IommuViommuInvalidateSelftest>();

    /// <summary>Unknown flag bits (EOPNOTSUPP in mock_viommu_cache_invalidate()).</summary>
    public Errno InvalidEntryErrno => Errno.EOPNOTSUPP;

    /// <summary>The mock looks <c>vdev_id</c> up in the vDEVICE table: not found is EINVAL
    /// (mock_viommu_cache_invalidate()).</summary>
    public Errno UnknownVirtIdErrno => Errno.EINVAL;

    public void AddIommu(IommufdBuilder builder) => builder.AddMockIommu(IommuName);

    public byte[] CreateNestedHwptData(DriverContractRig rig) =>
        Bytes(new IommuHwptSelftest { Iotlb = SelftestConstants.IotlbDefault });

    public ulong MapGuestPage(DriverContractRig rig, int page) => DriverContractRig.GuestPageIpa(page);

    /// <summary>Clears cache slot <paramref name="slot"/> of the device with <c>vdev_id</c> <paramref name="virtId"/>.</summary>
    public byte[] ValidEntry(ulong virtId, int slot) =>
        Bytes(new IommuViommuInvalidateSelftest { VdevId = (uint)virtId, CacheId = (uint)slot });

    public byte[] InvalidEntry(ulong virtId) =>
        Bytes(new IommuViommuInvalidateSelftest { Flags = 0xffff_ffff, VdevId = (uint)virtId });

    public byte[] EntryForUnknownVirtId(ulong virtId) =>
        Bytes(new IommuViommuInvalidateSelftest { VdevId = (uint)virtId });

    /// <summary>Nothing to set up: every cache slot starts at IOMMU_TEST_DEV_CACHE_DEFAULT.</summary>
    public void PrepareObservation(DriverContractRig rig, int slot)
    {
        ArgumentNullException.ThrowIfNull(rig);
        Assert.That(Mock(rig).GetDeviceCache(rig.Device, slot), Is.EqualTo(SelftestConstants.DevCacheDefault), $"setup: cache slot {slot} not yet invalidated");
    }

    public bool InvalidationTookEffect(DriverContractRig rig, int slot)
    {
        ArgumentNullException.ThrowIfNull(rig);
        return Mock(rig).GetDeviceCache(rig.Device, slot) == 0;
    }

    private static MockIommu Mock(DriverContractRig rig) => (MockIommu)rig.Device.Iommu;

    private static byte[] Bytes<T>(T value)
        where T : unmanaged => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();
}
