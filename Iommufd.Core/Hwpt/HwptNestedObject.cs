using Iommufd.Core.Driver;
using Iommufd.Core.Objects;
using Iommufd.Core.Viommu;

namespace Iommufd.Core.Hwpt;

/// <summary>A nested HWPT: a guest stage-1 configuration on a nest parent or a vIOMMU.</summary>
internal sealed class HwptNestedObject : HwptObject
{
    public HwptNestedObject(INestedDomain domain, HwptPagingObject? parent, ViommuObject? viommu)
    {
        NestedDomain = domain;
        UserCacheInvalidation = domain as IUserCacheInvalidation;
        Parent = parent;
        Viommu = viommu;
    }

    public override IommufdObjectType Type => IommufdObjectType.HwptNested;

    /// <summary>IOMMU_HWPT_INVALIDATE looks it up by mark (<see cref="ObjectTable.GetMarked{T}"/>).</summary>
    internal override bool TakesMarkedLookups => true;

    public INestedDomain NestedDomain { get; }

    public override IIommuDomain Domain => NestedDomain;

    /// <summary>The domain's <c>cache_invalidate_user</c>, or null (cast once, not on every IOMMU_HWPT_INVALIDATE).</summary>
    public IUserCacheInvalidation? UserCacheInvalidation { get; }

    /// <summary>The nest parent it was allocated on (older path), or null.</summary>
    public HwptPagingObject? Parent { get; }

    /// <summary>The vIOMMU it was allocated from, or null.</summary>
    public ViommuObject? Viommu { get; }

    internal override void Destroy()
    {
        NestedDomain.Free();
        Parent?.RemoveUser();
        Viommu?.RemoveUser();
        Fault?.RemoveUser();
    }
}
