using System.Buffers.Binary;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>
/// The extensible-struct rule of every command (main.c iommufd_fops_ioctl(), selftest cmd_length): shorter than the
/// minimum is EINVAL, a longer struct with a non-zero tail is E2BIG, and with a zero tail it behaves exactly as
/// the kernel-sized struct.
/// </summary>
public class SizeRuleTests
{
    /// <summary>A host with the mock plugin and no device: it answers IOMMU_TEST_CMD, so every table entry exists.</summary>
    private static TestHost NewHost() => new(b => b.AddMockIommu());

    private static IEnumerable<TestCaseData> Commands() =>
        IoctlTable.All.Select(c => new TestCaseData(c.Command, c.Entry.Size, (int)c.Entry.MinSize).SetArgDisplayNames(c.Command.ToString()));

    [TestCaseSource(nameof(Commands))]
    public void A_struct_shorter_than_the_minimum_is_EINVAL(IommufdCommand command, int size, int minSize)
    {
        using var host = NewHost();
        var arg = new byte[size + 1];
        BinaryPrimitives.WriteUInt32LittleEndian(arg, (uint)(minSize - 1));
        Assert.That(host.File.Ioctl(IommufdIoctl.Number(command), arg), Is.EqualTo(Errno.EINVAL));
    }

    [TestCaseSource(nameof(Commands))]
    public void A_longer_struct_with_a_nonzero_tail_is_E2BIG_and_nothing_is_written(IommufdCommand command, int size, int minSize)
    {
        using var host = NewHost();
        var arg = new byte[size + 1];
        BinaryPrimitives.WriteUInt32LittleEndian(arg, (uint)(size + 1));
        arg[size] = 0xFF;
        var before = arg.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.Number(command), arg), Is.EqualTo(Errno.E2BIG));
            Assert.That(arg, Is.EqualTo(before));
            Assert.That(host.File.ObjectCount, Is.Zero);
        });
    }

    [TestCaseSource(nameof(Commands))]
    public void A_longer_struct_with_a_zero_tail_behaves_as_the_kernel_sized_one(IommufdCommand command, int size, int minSize)
    {
        using var exact = NewHost();
        using var longer = NewHost();
        var a = new byte[size];
        var b = new byte[size + 1];
        BinaryPrimitives.WriteUInt32LittleEndian(a, (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)(size + 1));

        var rcExact = exact.File.Ioctl(IommufdIoctl.Number(command), a);
        var rcLonger = longer.File.Ioctl(IommufdIoctl.Number(command), b);

        Assert.Multiple(() =>
        {
            Assert.That(rcLonger, Is.EqualTo(rcExact));
            Assert.That(b.AsSpan(4, size - 4).ToArray(), Is.EqualTo(a.AsSpan(4).ToArray()), "output fields");
            Assert.That(b[size], Is.Zero, "the tail beyond the kernel struct is never written");
            Assert.That(longer.File.ObjectCount, Is.EqualTo(exact.File.ObjectCount));
        });
    }

    [TestCase(0x3B95u)]
    [TestCase(0x3B7Fu)]
    [TestCase(0x3BA0u)]
    [TestCase(0x3C80u)]
    [TestCase(0x13B80u)]
    public void An_unknown_request_is_ENOTTY(uint request)
    {
        using var host = new TestHost(); // no selftest plugin: IOMMU_TEST_CMD (0x3BA0) is unknown too
        var arg = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(arg, 64);
        Assert.That(host.File.Ioctl(request, arg), Is.EqualTo(Errno.ENOTTY));
    }

    [Test]
    public void An_argument_shorter_than_its_size_field_is_EFAULT()
    {
        using var host = NewHost();
        var arg = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(arg, 12); // IOAS_ALLOC is 12 bytes, only 8 are there
        Assert.Multiple(() =>
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, arg), Is.EqualTo(Errno.EFAULT));
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, arg.AsSpan(0, 3)), Is.EqualTo(Errno.EFAULT));
            Assert.That(host.File.ObjectCount, Is.Zero);
        });
    }

    [Test]
    public void An_argument_address_outside_user_memory_is_EFAULT()
    {
        using var host = NewHost();
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, 0xdead_0000UL), Is.EqualTo(Errno.EFAULT));
    }

    [Test]
    public void An_argument_in_user_memory_gets_its_output_written_back()
    {
        using var host = NewHost();
        var region = host.Process.Map(4096);
        BinaryPrimitives.WriteUInt32LittleEndian(region.Span, 12);
        Assert.Multiple(() =>
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, region.Address), Is.EqualTo(Errno.Success));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(region.Span[8..]), Is.EqualTo(1u), "out_ioas_id");
        });
    }
}
