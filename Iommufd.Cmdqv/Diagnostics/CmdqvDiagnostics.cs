using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Cmdqv.Driver;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Cmdqv.Diagnostics;

/// <summary>
/// A read-only view of the Tegra241 CMDQV beside one SMMUv3 (hardware or software backend): its global error maps
/// and every VINTF's and VCMDQ's registers. Get one with <see cref="For"/> from the SMMU's instance of
/// <c>IommufdHost.Platform.Iommus</c>; <see cref="SmmuV3Diagnostics"/> shows the SMMU itself.
/// </summary>
/// <remarks>
/// Every member reads the state at the moment of the call and returns a copy; nothing here writes a register or
/// changes a queue. A snapshot is consistent per VINTF or per queue, not across them.
/// </remarks>
public sealed class CmdqvDiagnostics
{
    private readonly CmdqvImplementation _impl;

    private CmdqvDiagnostics(CmdqvImplementation impl) => _impl = impl;

    /// <summary>The CMDQV's name.</summary>
    public string Name => Cmdqv.Name;

    /// <summary>What the CMDQV implements.</summary>
    public CmdqvFeatures Features => Cmdqv.Features;

    /// <summary>Whether the VCMDQs are the hardware's or the software VCMDQ in front of the SMMU's queue.</summary>
    public VcmdqBackend Backend => _impl.Backend;

    /// <summary>CONFIG.CMDQV_EN.</summary>
    public bool Enabled => Cmdqv.Enabled;

    private Tegra241Cmdqv Cmdqv => _impl.Cmdqv;

    /// <summary>The CMDQV of the SMMU <paramref name="instance"/>.</summary>
    /// <param name="instance">An IOMMU instance from <c>IommufdHost.Platform.Iommus</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="instance"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="instance"/> is not an SMMUv3 with a CMDQV.</exception>
    public static CmdqvDiagnostics For(IIommuInstance instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return TryGet(instance, out var diagnostics)
            ? diagnostics
            : throw new ArgumentException($"IOMMU instance '{instance.Name}' is not an SMMUv3 with a Tegra241 CMDQV", nameof(instance));
    }

    /// <summary>The CMDQV of <paramref name="instance"/> when it is an SMMUv3 with one.</summary>
    /// <param name="instance">An IOMMU instance, or null.</param>
    /// <param name="diagnostics">The diagnostics, or null when the instance has no CMDQV.</param>
    /// <returns>True when <paramref name="instance"/> is an SMMUv3 with a CMDQV.</returns>
    public static bool TryGet(IIommuInstance? instance, [NotNullWhen(true)] out CmdqvDiagnostics? diagnostics)
    {
        diagnostics = instance is SmmuV3Host { Implementation: CmdqvImplementation impl } ? new CmdqvDiagnostics(impl) : null;
        return diagnostics is not null;
    }

    /// <summary>VINTF_ERR_MAP: one bit per VINTF with an active queue error.</summary>
    public ulong VintfErrorMap() => Cmdqv.VintfErrorMap;

    /// <summary>CMDQ_ERR_MAP: one bit per global VCMDQ with an active error.</summary>
    public UInt128 CmdqErrorMap() => Cmdqv.CmdqErrorMap;

    /// <summary>Every VINTF's registers, by index.</summary>
    public ImmutableArray<VintfRegisters> Vintfs() =>
    [
        .. Cmdqv.Vintfs.Select(v => new VintfRegisters(
            v.Index,
            v.Config,
            v.ErrorMap,
            [.. Enumerable.Range(0, v.SidPairs).Select(v.SidMatch)],
            [.. Enumerable.Range(0, v.SidPairs).Select(v.SidReplace)])),
    ];

    /// <summary>Every global VCMDQ's registers, by global index.</summary>
    public ImmutableArray<VcmdqRegisters> Vcmdqs() =>
    [
        .. Cmdqv.Queues.Select(q => new VcmdqRegisters(
            q.GlobalIndex,
            q.Owner?.Index,
            q.Owner is null ? 0 : q.LogicalIndex,
            new QueueRegisters(q.Queue.Base, q.Queue.Prod, q.Queue.Cons),
            q.Config,
            q.Status,
            q.Gerror,
            q.Gerrorn,
            q.Held,
            q.Broken)),
    ];
}
