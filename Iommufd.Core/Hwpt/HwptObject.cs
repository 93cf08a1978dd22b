using Iommufd.Core.Driver;
using Iommufd.Core.Objects;

namespace Iommufd.Core.Hwpt;

/// <summary>A hardware page table: an IOMMU domain that devices attach to (the kernel's <c>iommufd_hw_pagetable</c>).</summary>
internal abstract class HwptObject : IommufdObject
{
    public abstract IIommuDomain Domain { get; }

    /// <summary>The fault queue that receives this HWPT's I/O page faults, if any.</summary>
    public FaultObject? Fault { get; init; }

    /// <summary>True for a domain the core created for an IOAS attach and destroys with its last device.</summary>
    public bool IsAutoDomain { get; init; }

    /// <summary>
    /// Allocated with IOMMU_HWPT_ALLOC_PASID (hw_pagetable.c: <c>hwpt->pasid_compat</c>): only such a HWPT may be
    /// attached to a PASID, or sit on the RID of a device that has PASIDs attached. Automatic domains never are.
    /// </summary>
    public bool PasidCompat { get; init; }

    /// <summary>Devices attached right now. Guarded by the file's attach lock.</summary>
    public int AttachedDevices { get; set; }
}
