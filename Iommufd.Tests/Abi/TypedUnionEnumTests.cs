using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>The type enums that select driver data, include/uapi/linux/iommufd.h.</summary>
[TestFixture]
public class TypedUnionEnumTests
{
    [Test]
    public void IommuHwptDataType_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwptDataType.None, Is.EqualTo(0u));
            Assert.That((uint)IommuHwptDataType.VtdS1, Is.EqualTo(1u));
            Assert.That((uint)IommuHwptDataType.ArmSmmuV3, Is.EqualTo(2u));
            Assert.That((uint)IommuHwptDataType.Selftest, Is.EqualTo(0xdeadu));
        }
    }

    [Test]
    public void IommuHwptInvalidateDataType_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwptInvalidateDataType.VtdS1, Is.EqualTo(0u));
            Assert.That((uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3, Is.EqualTo(1u));
            Assert.That((uint)IommuHwptInvalidateDataType.Selftest, Is.EqualTo(0xdeadbeefu));
            Assert.That((uint)IommuHwptInvalidateDataType.SelftestInvalid, Is.EqualTo(0xdadbeefu));
        }
    }

    [Test]
    public void IommuViommuType_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuViommuType.Default, Is.EqualTo(0u));
            Assert.That((uint)IommuViommuType.ArmSmmuV3, Is.EqualTo(1u));
            Assert.That((uint)IommuViommuType.Tegra241Cmdqv, Is.EqualTo(2u));
            Assert.That((uint)IommuViommuType.Selftest, Is.EqualTo(0xdeadbeefu));
        }
    }

    [Test]
    public void IommuVeventqType_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuVeventqType.Default, Is.EqualTo(0u));
            Assert.That((uint)IommuVeventqType.ArmSmmuV3, Is.EqualTo(1u));
            Assert.That((uint)IommuVeventqType.Tegra241Cmdqv, Is.EqualTo(2u));
            Assert.That((uint)IommuVeventqType.Selftest, Is.EqualTo(0xbeefbeefu));
        }
    }

    [Test]
    public void IommuHwInfoType_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwInfoType.None, Is.EqualTo(0u));
            Assert.That((uint)IommuHwInfoType.Default, Is.EqualTo(0u));
            Assert.That((uint)IommuHwInfoType.IntelVtd, Is.EqualTo(1u));
            Assert.That((uint)IommuHwInfoType.ArmSmmuV3, Is.EqualTo(2u));
            Assert.That((uint)IommuHwInfoType.Tegra241Cmdqv, Is.EqualTo(3u));
            Assert.That((uint)IommuHwInfoType.Amd, Is.EqualTo(4u));
            Assert.That((uint)IommuHwInfoType.Selftest, Is.EqualTo(0xfeedbeefu));
        }
    }

    [Test]
    public void IommuHwQueueType_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwQueueType.Default, Is.EqualTo(0u));
            Assert.That((uint)IommuHwQueueType.Tegra241Cmdqv, Is.EqualTo(1u));
            Assert.That((uint)IommuHwQueueType.Selftest, Is.EqualTo(0xdeadbeefu));
        }
    }
}
