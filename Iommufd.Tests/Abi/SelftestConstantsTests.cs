using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>The mock driver's constants, drivers/iommu/iommufd/iommufd_test.h.</summary>
[TestFixture]
public class SelftestConstantsTests
{
    [Test]
    public void Selftest_constants_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SelftestConstants.MockNestedDomainIotlbIdMax, Is.EqualTo(3u));
            Assert.That(SelftestConstants.MockNestedDomainIotlbNum, Is.EqualTo(4u));
            Assert.That(SelftestConstants.MockDevCacheIdMax, Is.EqualTo(3u));
            Assert.That(SelftestConstants.MockDevCacheNum, Is.EqualTo(4u));
            Assert.That(SelftestConstants.IotlbDefault, Is.EqualTo(0xbadbeefu));
            Assert.That(SelftestConstants.DevCacheDefault, Is.EqualTo(0xbaddadu));
            Assert.That(SelftestConstants.MockApertureStart, Is.EqualTo(0x0100_0000ul));
            Assert.That(SelftestConstants.MockApertureLast, Is.EqualTo(0x7FFF_FFFFul));
            Assert.That(SelftestConstants.MockPasidWidth, Is.EqualTo(20u));
            Assert.That(SelftestConstants.HwQueueMax, Is.EqualTo(2u));
            Assert.That(SelftestConstants.TestHwInfoReg, Is.EqualTo(0xdeadbeefu));
        }
    }
}
