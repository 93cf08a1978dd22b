using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Diagnostics;

/// <summary>
/// A read-only view of one emulated SMMUv3 and its host driver, for what a driver author would inspect in a
/// debugger: the IOTLB, the ATCs and the configuration cache, the queue registers, the stream table and the VMID
/// behind each vIOMMU. Get one with <see cref="For"/> from an instance of <c>IommufdHost.Platform.Iommus</c>.
/// </summary>
/// <remarks>
/// Every member reads the state at the moment of the call and returns a copy: later DMA, invalidations or
/// attachments do not change what it returned, and nothing here changes the SMMU (no register is written, no cache
/// entry is touched). A snapshot of a threaded SMMU is consistent per cache or per register set, not across them.
/// </remarks>
public sealed class SmmuV3Diagnostics
{
    private readonly SmmuV3Host _host;

    private SmmuV3Diagnostics(SmmuV3Host host) => _host = host;

    /// <summary>The instance name devices refer to.</summary>
    public string Name => _host.Name;

    /// <summary>What the hardware implements (the features its ID registers were built from).</summary>
    public SmmuV3Features Features => _host.Hardware.Features;

    /// <summary>What the host driver's probe read from the ID registers.</summary>
    public ProbedFeatures Probed => _host.Probed;

    /// <summary>Whether the SMMU consumes its queues inline or on engine threads.</summary>
    public ExecutionMode ExecutionMode => _host.Hardware.Mode;

    /// <summary>The diagnostics of <paramref name="instance"/>, an SMMUv3 of the platform.</summary>
    /// <param name="instance">An IOMMU instance from <c>IommufdHost.Platform.Iommus</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="instance"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="instance"/> is not an SMMUv3 of this plugin.</exception>
    public static SmmuV3Diagnostics For(IIommuInstance instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return TryGet(instance, out var diagnostics)
            ? diagnostics
            : throw new ArgumentException($"IOMMU instance '{instance.Name}' is not an Arm SMMUv3", nameof(instance));
    }

    /// <summary>The diagnostics of <paramref name="instance"/> when it is an SMMUv3 of this plugin.</summary>
    /// <param name="instance">An IOMMU instance, or null.</param>
    /// <param name="diagnostics">The diagnostics, or null when the instance is not an SMMUv3.</param>
    /// <returns>True when <paramref name="instance"/> is an SMMUv3.</returns>
    public static bool TryGet(IIommuInstance? instance, [NotNullWhen(true)] out SmmuV3Diagnostics? diagnostics)
    {
        diagnostics = instance is SmmuV3Host host ? new SmmuV3Diagnostics(host) : null;
        return diagnostics is not null;
    }

    /// <summary>Every translation the IOTLB holds now, in no particular order.</summary>
    public ImmutableArray<TlbEntry> IotlbEntries() => [.. _host.Hardware.Iotlb.Snapshot()];

    /// <summary>
    /// Every translation the ATC of the endpoint with <paramref name="streamId"/> holds now, in no particular order;
    /// empty when no ATS-capable endpoint has that StreamID.
    /// </summary>
    /// <param name="streamId">The endpoint's StreamID.</param>
    public ImmutableArray<AtcEntry> AtcEntries(uint streamId) =>
        _host.Hardware.GetAtc(streamId) is { } atc
            ? [.. atc.SnapshotBySubstream().Select(e => new AtcEntry(e.Ssid, e.Entry))]
            : [];

    /// <summary>Every STE in the configuration cache now, by StreamID.</summary>
    public ImmutableArray<CachedSte> CachedStes() =>
        [.. _host.Hardware.ConfigCache.SnapshotStes().Select(e => new CachedSte(e.Key, e.Value)).OrderBy(e => e.StreamId)];

    /// <summary>Every CD in the configuration cache now, by StreamID and SubstreamID.</summary>
    public ImmutableArray<CachedCd> CachedCds() =>
        [.. _host.Hardware.ConfigCache.SnapshotCds().Select(e => new CachedCd(e.Key.Sid, e.Key.Ssid, e.Value))
            .OrderBy(e => e.StreamId).ThenBy(e => e.SubstreamId)];

    /// <summary>SMMU_CMDQ_BASE, SMMU_CMDQ_PROD and SMMU_CMDQ_CONS: the main command queue the host driver issues on.</summary>
    public QueueRegisters CommandQueue() =>
        new(Read(SmmuRegister.CMDQ_BASE, 8), (uint)Read(SmmuRegister.CMDQ_PROD), (uint)Read(SmmuRegister.CMDQ_CONS));

    /// <summary>SMMU_EVENTQ_BASE, SMMU_EVENTQ_PROD and SMMU_EVENTQ_CONS: the event queue the host driver reads.</summary>
    public QueueRegisters EventQueue() =>
        new(Read(SmmuRegister.EVENTQ_BASE, 8), (uint)Read(SmmuRegister.EVENTQ_PROD), (uint)Read(SmmuRegister.EVENTQ_CONS));

    /// <summary>The global errors active now: the bits in which SMMU_GERROR and SMMU_GERRORN differ (spec §6.3.19).</summary>
    public GlobalError ActiveGlobalErrors() =>
        (GlobalError)((uint)Read(SmmuRegister.GERROR) ^ (uint)Read(SmmuRegister.GERRORN));

    /// <summary>
    /// The STE of <paramref name="streamId"/> as it is in the stream table in memory (what the SMMU fetches on a
    /// miss; the configuration cache may still hold an older one), or null when the table has no STE for it: the
    /// StreamID is beyond the table, or no device in its level-2 span has been probed.
    /// </summary>
    /// <param name="streamId">The StreamID.</param>
    public StreamTableEntry? ReadSte(uint streamId) =>
        _host.TryReadSte(streamId, out var ste) ? ste : null;

    /// <summary>Every live vIOMMU on this SMMU, in allocation order, with the VMID behind it.</summary>
    public ImmutableArray<ViommuInfo> Viommus() =>
        [.. _host.Viommus().Select(v => new ViommuInfo(v.Viommu.Context.Id, v.Type, v.Viommu.Vmid, v.Viommu.CommandsForwarded))];

    private ulong Read(SmmuRegister register, int size = 4) => _host.Hardware.ReadRegister((uint)register, size);
}
