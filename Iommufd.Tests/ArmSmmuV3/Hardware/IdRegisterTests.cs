using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>The ID registers follow <see cref="SmmuV3Features"/> (spec §6.3.1–6.3.8; layouts as arm-smmu-v3.h
/// IDR*).</summary>
[TestFixture]
public class IdRegisterTests
{
    [Test]
    public void A_QEMU_like_stage_1_configuration_reads_QEMUs_ID_register_values()
    {
        // QEMU's default stage-1 model (hw/arm/smmuv3.c smmuv3_init_id_regs()): IDR0 0x0D44101A, IDR1 0x02730010, IDR5
        // 0x74. Its IDR3 (0x1404) also has HAD, which this model does not implement, so only RIL and BBML are compared
        // there.
        var features = new SmmuV3Features { Stage2 = false, Ats = false, Msi = false, Sev = false, SsidBits = 0, OutputAddressBits = 44 };
        using var bench = new SmmuTestBench(features, enable: false);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(bench.Read(SmmuRegister.IDR0), Is.EqualTo(0x0D44_101AUL));
            Assert.That(bench.Read(SmmuRegister.IDR1), Is.EqualTo(0x0273_0010UL));
            Assert.That(bench.Read(SmmuRegister.IDR3), Is.EqualTo(0x0000_1400UL));
            Assert.That(bench.Read(SmmuRegister.IDR5), Is.EqualTo(0x0000_0074UL));
        }
    }

    [Test]
    public void The_default_features_read_as_a_nesting_SMMU_with_ATS_MSI_and_SEV()
    {
        using var bench = new SmmuTestBench(enable: false);
        ulong idr0 = bench.Read(SmmuRegister.IDR0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(idr0 & 0b11, Is.EqualTo(0b11), "S1P and S2P");
            Assert.That((idr0 >> 2) & 0b11, Is.EqualTo(2), "TTF: AArch64");
            Assert.That((idr0 >> 10) & 1, Is.EqualTo(1), "ATS");
            Assert.That((idr0 >> 13) & 0b11, Is.EqualTo(0b11), "MSI and SEV");
            Assert.That((idr0 >> 9) & 1, Is.Zero, "HYP");
            Assert.That((idr0 >> 16) & 1, Is.Zero, "PRI");
            Assert.That((idr0 >> 24) & 0b11, Is.EqualTo(1), "STALL_MODEL: no stall");
            Assert.That((idr0 >> 27) & 0b11, Is.EqualTo(1), "ST_LEVEL: 2-level");
            Assert.That(bench.Read(SmmuRegister.IDR1), Is.EqualTo(0x0273_0510UL), "SIDSIZE 16, SSIDSIZE 20, EVENTQS 19, CMDQS 19");
            Assert.That(bench.Read(SmmuRegister.IDR5), Is.EqualTo(0x0000_0075UL), "OAS 48 bits and all three granules");
            Assert.That(bench.Read(SmmuRegister.AIDR), Is.EqualTo(1UL), "SMMUv3.1");
            Assert.That(bench.Read(SmmuRegister.IIDR), Is.EqualTo(0x43BUL));
        }
    }

    [Test]
    public void Optional_features_set_their_ID_register_bits()
    {
        var features = new SmmuV3Features
        {
            Stage1 = false, Hyp = true, Pri = true, StallModel = 2, Mpam = true, RangeInvalidation = false, Ds = true,
            TwoLevelCdTable = true, TwoLevelStreamTable = false, Granule16K = false, SidBits = 8, SsidBits = 5,
            CmdqLog2Size = 8, EventqLog2Size = 3, OutputAddressBits = 40,
        };
        using var bench = new SmmuTestBench(features, enable: false);
        ulong idr0 = bench.Read(SmmuRegister.IDR0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(idr0 & 0b11, Is.EqualTo(0b01), "S2P only");
            Assert.That((idr0 >> 9) & 1, Is.EqualTo(1), "HYP");
            Assert.That((idr0 >> 16) & 1, Is.EqualTo(1), "PRI");
            Assert.That((idr0 >> 19) & 1, Is.EqualTo(1), "CD2L");
            Assert.That((idr0 >> 24) & 0b11, Is.EqualTo(2), "STALL_MODEL: stall forced");
            Assert.That((idr0 >> 27) & 0b11, Is.Zero, "ST_LEVEL: linear only");
            Assert.That(bench.Read(SmmuRegister.IDR1), Is.EqualTo(0x0103_0148UL), "SIDSIZE 8, SSIDSIZE 5, EVENTQS 3, CMDQS 8");
            Assert.That(bench.Read(SmmuRegister.IDR3), Is.EqualTo(0x0000_1080UL), "MPAM, no RIL, BBML 2");
            Assert.That(bench.Read(SmmuRegister.IDR5), Is.EqualTo(0x0000_00D2UL), "OAS 40 bits, 4K and 64K, DS");
        }
    }
}
