using Iommufd.Core.Driver;
using Iommufd.Core.Ioas;
using Iommufd.Core.Objects;

namespace Iommufd.Core.Hwpt;

/// <summary>A paging HWPT: a host page table mirroring an IOAS; a nest parent when allocated with NEST_PARENT.</summary>
internal sealed class HwptPagingObject : HwptObject
{
    public HwptPagingObject(IoasObject ioas, IPagingDomain domain)
    {
        Ioas = ioas;
        PagingDomain = domain;
    }

    public override IommufdObjectType Type => IommufdObjectType.HwptPaging;

    public IoasObject Ioas { get; }

    public IPagingDomain PagingDomain { get; }

    public override IIommuDomain Domain => PagingDomain;

    internal override void Destroy()
    {
        Ioas.RemoveDomain(PagingDomain);
        PagingDomain.Free();
        Ioas.RemoveUser();
        Fault?.RemoveUser();
    }
}
