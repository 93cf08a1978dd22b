using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>
/// Every opcode against its hand-computed golden words (Arm IHI 0070 chapter 4): builder output,
/// property decode, decoded text, and parse back.
/// </summary>
[TestFixture]
public class SmmuCommandGoldenTests
{
    [TestCaseSource(typeof(GoldenCommands), nameof(GoldenCommands.All))]
    public void Builder_produces_the_golden_words(GoldenCommand golden)
    {
        SmmuCommand built = golden.Build();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(built.Word0, Is.EqualTo(golden.Word0), $"w0 = 0x{built.Word0:x16}");
            Assert.That(built.Word1, Is.EqualTo(golden.Word1), $"w1 = 0x{built.Word1:x16}");
        }
    }

    [TestCaseSource(typeof(GoldenCommands), nameof(GoldenCommands.All))]
    public void Properties_decode_the_golden_words(GoldenCommand golden)
    {
        SmmuCommand command = golden.Command;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.Opcode, Is.EqualTo(golden.Opcode));
            golden.CheckProperties(command);
        }
    }

    [TestCaseSource(typeof(GoldenCommands), nameof(GoldenCommands.All))]
    public void Decoder_renders_the_golden_text(GoldenCommand golden)
    {
        Assert.That(SmmuCommandDecoder.Decode(golden.Command), Is.EqualTo(golden.Text));
    }

    [TestCaseSource(typeof(GoldenCommands), nameof(GoldenCommands.All))]
    public void TryParse_reads_the_golden_text_back_to_the_golden_words(GoldenCommand golden)
    {
        bool parsed = SmmuCommandDecoder.TryParse(golden.Text, out SmmuCommand command, out string error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed, Is.True, error);
            Assert.That(error, Is.Empty);
            Assert.That(command.Word0, Is.EqualTo(golden.Word0));
            Assert.That(command.Word1, Is.EqualTo(golden.Word1));
        }
    }

    [TestCaseSource(typeof(GoldenCommands), nameof(GoldenCommands.All))]
    public void Golden_words_are_written_and_read_little_endian(GoldenCommand golden)
    {
        var expected = new byte[16];
        for (int i = 0; i < 8; i++)
        {
            expected[i] = (byte)(golden.Word0 >> (8 * i));
            expected[8 + i] = (byte)(golden.Word1 >> (8 * i));
        }

        var written = new byte[16];
        golden.Command.Write(written);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Is.EqualTo(expected));
            Assert.That(SmmuCommand.Read(expected), Is.EqualTo(golden.Command));
            Assert.That(SmmuCommandDecoder.Decode(expected), Is.EqualTo(golden.Text));
        }
    }

    [TestCaseSource(typeof(GoldenCommands), nameof(GoldenCommands.All))]
    public void Built_commands_set_no_reserved_bit(GoldenCommand golden)
    {
        Assert.That(SmmuCommandLayout.HasReservedBitsSet(golden.Build()), Is.False);
    }

    [Test]
    public void Golden_vectors_cover_every_opcode()
    {
        var covered = GoldenCommands.Vectors.Select(g => g.Opcode).ToHashSet();

        Assert.That(covered, Is.EquivalentTo(Enum.GetValues<SmmuOpcode>()));
    }

    [Test]
    public void Golden_vectors_are_tagged_with_the_opcode_byte_they_hold()
    {
        Assert.That(
            GoldenCommands.Vectors.Where(g => (byte)g.Word0 != (byte)g.Opcode).Select(g => g.Name),
            Is.Empty);
    }
}
