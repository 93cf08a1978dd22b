using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd, cmd_ex_fail), tools/testing/selftests/iommu/iommufd.c: an IOAS_IOVA_RANGES struct followed by 256
/// u64 of tail, passed whole to the raw ioctl.
/// </summary>
[TestFixture]
public class SizeRuleContractTests : MockContractTest
{
    [StructLayout(LayoutKind.Sequential)]
    private struct LongIovaRanges
    {
        public IommuIoasIovaRanges Cmd;
        public Tail256 Big;
    }

    [InlineArray(256)]
    private struct Tail256
    {
        private ulong _element0;
    }

    [Test]
    public void A_longer_struct_with_a_zero_tail_is_handled_normally_and_an_unknown_id_is_ENOENT()
    {
        var cmd = new LongIovaRanges { Cmd = { IoasId = 0 } };

        Assert.That(Fx.Raw(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref cmd), Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void A_longer_struct_with_a_non_zero_tail_is_E2BIG()
    {
        var cmd = new LongIovaRanges { Cmd = { IoasId = 0 } };
        cmd.Big[0] = 1;

        Assert.That(Fx.Raw(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref cmd), Is.EqualTo(Errno.E2BIG));
    }

    [TestCase(0ul, Errno.ENOENT, TestName = "By_address_a_longer_struct_with_a_zero_tail_is_handled_normally_and_an_unknown_id_is_ENOENT")]
    [TestCase(1ul, Errno.E2BIG, TestName = "By_address_a_longer_struct_with_a_non_zero_tail_is_E2BIG")]
    public void The_selftest_struct_passed_by_address_follows_the_same_size_rule(ulong firstTailWord, Errno expected)
    {
        // The selftest passes its struct by pointer, as a VMM does: the whole 2 KiB tail must be checked.
        var cmd = new LongIovaRanges { Cmd = { Size = (uint)Unsafe.SizeOf<LongIovaRanges>(), IoasId = 0 } };
        cmd.Big[255] = firstTailWord;
        ulong address = Fx.Put(cmd);

        Assert.That(Fx.File.Ioctl(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, address), Is.EqualTo(expected));
    }

    [Test]
    public void A_struct_shorter_than_its_minimum_size_is_EINVAL_and_nothing_is_written_back()
    {
        var cmd = new LongIovaRanges { Cmd = { IoasId = Fx.IoasId, NumIovas = 0 } };
        var bytes = MemoryMarshal.AsBytes(new Span<LongIovaRanges>(ref cmd));
        uint shortSize = (uint)Unsafe.SizeOf<IommuIoasIovaRanges>() - 1;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, shortSize);

        var rc = Fx.File.Ioctl(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, bytes);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(cmd.Cmd.NumIovas, Is.Zero, "num_iovas untouched");
            Assert.That(cmd.Cmd.OutIovaAlignment, Is.Zero, "out_iova_alignment untouched");
        }
    }

    [Test]
    public void A_longer_struct_with_a_zero_tail_on_a_real_IOAS_succeeds_and_fills_the_known_fields()
    {
        var cmd = new LongIovaRanges { Cmd = { IoasId = Fx.IoasId, NumIovas = 0 } };

        var rc = Fx.Raw(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref cmd);

        using (Assert.EnterMultipleScope())
        {
            // An empty IOAS has one usable range (everything), which does not fit in an array of 0: EMSGSIZE with
            // num_iovas set, as include/uapi/linux/iommufd.h describes.
            Assert.That(rc, Is.EqualTo(Errno.EMSGSIZE));
            Assert.That(cmd.Cmd.NumIovas, Is.EqualTo(1u));
            // No domain is attached: io_pagetable.c iopt_init_table() starts the alignment at 1.
            Assert.That(cmd.Cmd.OutIovaAlignment, Is.EqualTo(1ul));
            Assert.That(cmd.Cmd.Size, Is.EqualTo((uint)Unsafe.SizeOf<LongIovaRanges>()), "size is not rewritten");
        }
    }
}
