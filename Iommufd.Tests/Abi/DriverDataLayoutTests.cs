using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>
/// Driver data of the typed unions for VT-d, ARM SMMUv3 and Tegra241 CMDQV: include/uapi/linux/iommufd.h
/// (struct iommu_hw_info_tegra241_cmdqv, iommu_viommu_tegra241_cmdqv, iommu_vevent_tegra241_cmdqv).
/// </summary>
[TestFixture]
public class DriverDataLayoutTests
{
    [Test]
    public void IommuHwptVtdS1_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptVtdS1>(24,
            (nameof(IommuHwptVtdS1.Flags), 0),
            (nameof(IommuHwptVtdS1.PgtblAddr), 8),
            (nameof(IommuHwptVtdS1.AddrWidth), 16),
            (nameof(IommuHwptVtdS1.Reserved), 20));

    [Test]
    public void IommuHwptArmSmmuV3_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptArmSmmuV3>(16,
            (nameof(IommuHwptArmSmmuV3.Ste), 0));

    [Test]
    public void IommuHwptVtdS1Invalidate_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwptVtdS1Invalidate>(24,
            (nameof(IommuHwptVtdS1Invalidate.Addr), 0),
            (nameof(IommuHwptVtdS1Invalidate.Npages), 8),
            (nameof(IommuHwptVtdS1Invalidate.Flags), 16),
            (nameof(IommuHwptVtdS1Invalidate.Reserved), 20));

    [Test]
    public void IommuViommuArmSmmuV3Invalidate_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuViommuArmSmmuV3Invalidate>(16,
            (nameof(IommuViommuArmSmmuV3Invalidate.Cmd), 0));

    [Test]
    public void IommuViommuTegra241Cmdqv_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuViommuTegra241Cmdqv>(16,
            (nameof(IommuViommuTegra241Cmdqv.OutVintfMmapOffset), 0),
            (nameof(IommuViommuTegra241Cmdqv.OutVintfMmapLength), 8));

    [Test]
    public void IommuVeventArmSmmuV3_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuVeventArmSmmuV3>(32,
            (nameof(IommuVeventArmSmmuV3.Evt), 0));

    [Test]
    public void IommuVeventTegra241Cmdqv_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuVeventTegra241Cmdqv>(16,
            (nameof(IommuVeventTegra241Cmdqv.LvcmdqErrMap), 0));

    [Test]
    public void IommuHwInfoVtd_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwInfoVtd>(24,
            (nameof(IommuHwInfoVtd.Flags), 0),
            (nameof(IommuHwInfoVtd.Reserved), 4),
            (nameof(IommuHwInfoVtd.CapReg), 8),
            (nameof(IommuHwInfoVtd.EcapReg), 16));

    [Test]
    public void IommuHwInfoArmSmmuV3_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwInfoArmSmmuV3>(40,
            (nameof(IommuHwInfoArmSmmuV3.Flags), 0),
            (nameof(IommuHwInfoArmSmmuV3.Reserved), 4),
            (nameof(IommuHwInfoArmSmmuV3.Idr), 8),
            (nameof(IommuHwInfoArmSmmuV3.Iidr), 32),
            (nameof(IommuHwInfoArmSmmuV3.Aidr), 36));

    [Test]
    public void IommuHwInfoTegra241Cmdqv_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwInfoTegra241Cmdqv>(8,
            (nameof(IommuHwInfoTegra241Cmdqv.Flags), 0),
            (nameof(IommuHwInfoTegra241Cmdqv.Version), 4),
            (nameof(IommuHwInfoTegra241Cmdqv.Log2Vcmdqs), 5),
            (nameof(IommuHwInfoTegra241Cmdqv.Log2Vsids), 6),
            (nameof(IommuHwInfoTegra241Cmdqv.Reserved), 7));
}
