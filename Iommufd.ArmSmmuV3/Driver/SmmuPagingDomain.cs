using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// What the host's stage-1 and stage-2 paging domains share: a 4K-granule table in host memory whose input size is
/// the aperture, mapped page by page; each stage says how an unmap is invalidated and how its STE looks.
/// </summary>
internal abstract class SmmuPagingDomain : IPagingDomain
{
    protected SmmuPagingDomain(SmmuV3Host host, int inputBits, bool stage2)
    {
        Host = host;
        InputBits = inputBits;
        Tables = new PhysicalTableStore(host.Memory);
        Table = new AArch64PageTable(Tables, TableFormat.ForInputBits(TranslationGranule.Size4K, inputBits), stage2);
    }

    public SmmuV3Host Host { get; }

    public IIommuInstance Iommu => Host;

    public AArch64PageTable Table { get; }

    /// <summary>The input size (VA or IPA bits) the table translates.</summary>
    public int InputBits { get; }

    public abstract bool IsNestParent { get; }

    public ulong ApertureStart => 0;

    public ulong ApertureLast => (1UL << InputBits) - 1;

    /// <summary>The memory behind the tables (and a stage-1 domain's CD).</summary>
    protected PhysicalTableStore Tables { get; }

    public Errno Map(ulong iova, ulong physicalAddress, ulong length, IommuProtection protection)
    {
        if (iova + length - 1 > ApertureLast)
        {
            return Errno.EINVAL;
        }

        Table.Map(iova, physicalAddress, length, protection);
        return Errno.Success;
    }

    public abstract Errno Unmap(ulong iova, ulong length);

    public bool TryTranslate(ulong iova, out ulong physicalAddress, out IommuProtection protection) =>
        Table.TryTranslate(iova, out physicalAddress, out protection);

    public abstract void Free();
}
