using System.Runtime.CompilerServices;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>The inline-array helpers and the element offsets of the C arrays they stand for.</summary>
[TestFixture]
public class FixedArrayLayoutTests
{
    [Test]
    public void Fixed_array_helpers_have_the_size_of_their_c_arrays()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Unsafe.SizeOf<Byte3>(), Is.EqualTo(3));
            Assert.That(Unsafe.SizeOf<UInt32x6>(), Is.EqualTo(24));
            Assert.That(Unsafe.SizeOf<UInt64x2>(), Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<UInt64x4>(), Is.EqualTo(32));
        }
    }

    [TestCase(0, 29)]
    [TestCase(1, 30)]
    [TestCase(2, 31)]
    public void IommuHwInfo_reserved_bytes_sit_at_29_to_31(int index, int offset)
    {
        var info = new IommuHwInfo();
        Assert.That(AbiLayout.ByteOffset(ref info, ref info.Reserved[index]), Is.EqualTo(offset));
    }

    [TestCase(0, 8)]
    [TestCase(1, 12)]
    [TestCase(2, 16)]
    [TestCase(3, 20)]
    [TestCase(4, 24)]
    [TestCase(5, 28)]
    public void IommuHwInfoArmSmmuV3_idr_words_sit_at_the_reference_offsets(int index, int offset)
    {
        var info = new IommuHwInfoArmSmmuV3();
        Assert.That(AbiLayout.ByteOffset(ref info, ref info.Idr[index]), Is.EqualTo(offset));
    }

    [TestCase(0, 0)]
    [TestCase(1, 8)]
    public void IommuHwptArmSmmuV3_ste_words_sit_at_0_and_8(int index, int offset)
    {
        var data = new IommuHwptArmSmmuV3();
        Assert.That(AbiLayout.ByteOffset(ref data, ref data.Ste[index]), Is.EqualTo(offset));
    }

    [TestCase(0, 0)]
    [TestCase(1, 8)]
    public void IommuViommuArmSmmuV3Invalidate_cmd_words_sit_at_0_and_8(int index, int offset)
    {
        var entry = new IommuViommuArmSmmuV3Invalidate();
        Assert.That(AbiLayout.ByteOffset(ref entry, ref entry.Cmd[index]), Is.EqualTo(offset));
    }

    [TestCase(0, 0)]
    [TestCase(1, 8)]
    [TestCase(2, 16)]
    [TestCase(3, 24)]
    public void IommuVeventArmSmmuV3_evt_words_follow_each_other(int index, int offset)
    {
        var evt = new IommuVeventArmSmmuV3();
        Assert.That(AbiLayout.ByteOffset(ref evt, ref evt.Evt[index]), Is.EqualTo(offset));
    }

    [TestCase(0, 0)]
    [TestCase(1, 8)]
    public void IommuVeventTegra241Cmdqv_error_map_words_sit_at_0_and_8(int index, int offset)
    {
        var evt = new IommuVeventTegra241Cmdqv();
        Assert.That(AbiLayout.ByteOffset(ref evt, ref evt.LvcmdqErrMap[index]), Is.EqualTo(offset));
    }
}
