using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.DriverContract;

/// <summary>
/// What <see cref="DriverContractTests{TPlugin}"/> needs to know about one driver plugin: how to add it to a
/// machine, its vIOMMU/vEVENTQ/nested-HWPT types, how a guest of it describes a stage-1 nested HWPT, and how its
/// vIOMMU invalidation entries look and what they visibly do. The fixture makes a new adapter for every test, so an
/// adapter may keep per-test state (a guest's page tables).
/// </summary>
/// <remarks>
/// Where two drivers legitimately answer the same input with different errnos (selftest.c
/// mock_viommu_cache_invalidate() vs arm-smmu-v3-iommufd.c arm_vsmmu_cache_invalidate()), the expected errno lives
/// here, never in an <c>if</c> in a test.
/// </remarks>
public interface IDriverContractPlugin
{
    /// <summary>The name of the one IOMMU instance <see cref="AddIommu"/> adds; the fixture puts its devices behind it.</summary>
    string IommuName { get; }

    /// <summary>The vIOMMU type the plugin allocates (VIOMMU_ALLOC <c>type</c>).</summary>
    IommuViommuType ViommuType { get; }

    /// <summary>The vEVENTQ type the plugin's vIOMMU reports (VEVENTQ_ALLOC <c>type</c>).</summary>
    IommuVeventqType VeventqType { get; }

    /// <summary>The HWPT_ALLOC <c>data_type</c> of a nested HWPT from the vIOMMU.</summary>
    IommuHwptDataType NestedDataType { get; }

    /// <summary>The HWPT_INVALIDATE <c>data_type</c> the vIOMMU takes.</summary>
    uint InvalidationDataType { get; }

    /// <summary>The HWPT_INVALIDATE <c>entry_len</c> of one entry (the kernel struct's size).</summary>
    uint EntryLength { get; }

    /// <summary>The errno of <see cref="InvalidEntry"/> (the driver's cache_invalidate op).</summary>
    Errno InvalidEntryErrno { get; }

    /// <summary>The errno of <see cref="EntryForUnknownVirtId"/> (the driver's cache_invalidate op).</summary>
    Errno UnknownVirtIdErrno { get; }

    /// <summary>Registers the plugin with one IOMMU instance named <see cref="IommuName"/>.</summary>
    void AddIommu(IommufdBuilder builder);

    /// <summary>
    /// The driver data of a stage-1 nested HWPT for the guest of <paramref name="rig"/>: whatever the guest keeps in
    /// its RAM for it (tables, descriptors) is written into <see cref="DriverContractRig.GuestRam"/> first.
    /// </summary>
    byte[] CreateNestedHwptData(DriverContractRig rig);

    /// <summary>
    /// The address a device attached to the nested HWPT of <see cref="CreateNestedHwptData"/> uses to reach guest
    /// RAM page <paramref name="page"/> (see <see cref="DriverContractRig.GuestPageIpa"/>); the guest's stage 1, if
    /// the driver has one, maps it first.
    /// </summary>
    ulong MapGuestPage(DriverContractRig rig, int page);

    /// <summary>
    /// An entry that invalidates something observable, numbered <paramref name="slot"/> (0..3; different slots
    /// touch different things), on behalf of the device the guest knows as <paramref name="virtId"/>.
    /// </summary>
    byte[] ValidEntry(ulong virtId, int slot);

    /// <summary>An entry the driver refuses with <see cref="InvalidEntryErrno"/> whatever the device state.</summary>
    byte[] InvalidEntry(ulong virtId);

    /// <summary>An otherwise valid entry naming a virtual ID no vDEVICE has: refused with <see cref="UnknownVirtIdErrno"/>.</summary>
    byte[] EntryForUnknownVirtId(ulong virtId);

    /// <summary>
    /// Sets up what <see cref="ValidEntry"/> for <paramref name="slot"/> will invalidate, with the device attached
    /// to the nested HWPT, and asserts that it has not been invalidated yet.
    /// </summary>
    void PrepareObservation(DriverContractRig rig, int slot);

    /// <summary>True once the invalidation of <paramref name="slot"/> prepared by <see cref="PrepareObservation"/> took effect.</summary>
    bool InvalidationTookEffect(DriverContractRig rig, int slot);
}
