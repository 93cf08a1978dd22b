namespace Iommufd.Core.Uapi;

/// <summary>The <c>flags</c> of <see cref="IommufdVeventHeader"/> (enum iommu_veventq_flag).</summary>
[Flags]
public enum IommuVeventqFlags : uint
{
    /// <summary>No flag: the header is followed by its event.</summary>
    None = 0,

    /// <summary>IOMMU_VEVENTQ_FLAG_LOST_EVENTS: events were dropped; the header has no payload.</summary>
    LostEvents = 1u << 0,
}
