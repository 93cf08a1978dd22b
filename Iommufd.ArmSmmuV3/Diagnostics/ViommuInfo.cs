using Iommufd.Core.Uapi;

namespace Iommufd.ArmSmmuV3.Diagnostics;

/// <summary>One live vIOMMU on an SMMU, as a snapshot.</summary>
/// <param name="ViommuId">The vIOMMU's object ID in the iommufd file that allocated it (IDs of different files may
/// be equal).</param>
/// <param name="Type">ARM_SMMUV3, or TEGRA241_CMDQV for one with a VINTF.</param>
/// <param name="Vmid">The VMID of its stage-2 parent: what every command it forwards carries, and what the STEs of
/// its nested domains hold in S2VMID.</param>
/// <param name="CommandsForwarded">Guest commands it has issued to the host queue so far: exact while one thread at a
/// time invalidates through it; concurrent invalidations through one vIOMMU may under-count (a plain count, kept off
/// the invalidation's interlocked operations).</param>
public readonly record struct ViommuInfo(uint ViommuId, IommuViommuType Type, ushort Vmid, long CommandsForwarded);
