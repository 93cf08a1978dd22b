using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>The text form beyond the golden vectors: raw opcodes, reserved bits, random entries, errors.</summary>
[TestFixture]
public class SmmuCommandDecoderTests
{
    [TestCase(0x0000_0000_0000_005FUL, 0UL, "RESERVED(0x5f) w0=0x000000000000005f w1=0x0000000000000000")]
    [TestCase(0x0000_0000_0000_0000UL, 0UL, "RESERVED(0x00) w0=0x0000000000000000 w1=0x0000000000000000")]
    [TestCase(0x1234_0000_0000_0090UL, 0xFFUL, "RESERVED(0x90) w0=0x1234000000000090 w1=0x00000000000000ff")]
    [TestCase(0xDEAD_0000_0000_0085UL, 1UL, "IMPDEF(0x85) w0=0xdead000000000085 w1=0x0000000000000001")]
    [TestCase(0x0000_0000_0000_008FUL, 0UL, "IMPDEF(0x8f) w0=0x000000000000008f w1=0x0000000000000000")]
    public void Raw_opcodes_are_shown_with_both_words(ulong w0, ulong w1, string expected)
    {
        var command = new SmmuCommand(w0, w1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SmmuCommandDecoder.Decode(command), Is.EqualTo(expected));
            bool ok = SmmuCommandDecoder.TryParse(expected, out SmmuCommand parsed, out string error);
            Assert.That(ok, Is.True, error);
            Assert.That(parsed, Is.EqualTo(command));
        }
    }

    // CFGI_STE has no SSV: w0[11] is reserved. CMD_SYNC w1[0] is entry bit [64], w1[56] is bit [120].
    // TLBI_S2_IPA w1[63] is entry bit [127].
    [TestCase(0x0000_1234_0000_0803UL, 0UL, "CFGI_STE ssec=0 sid=0x1234 leaf=0 res0!=0x800")]
    [TestCase(0x0000_0000_0000_0046UL, 0x0100_0000_0000_0001UL,
        "CMD_SYNC cs=0 msh=0 msiattr=0x0 msidata=0x0 msiaddr=0x0 res0!=0x1000000000000010000000000000000")]
    [TestCase(0x0000_0001_0000_002AUL, 0x8000_0000_0000_1000UL,
        "TLBI_S2_IPA vmid=0x1 ipa=0x1000 tg=0 ttl=0 num=0 scale=0 leaf=0 res0!=0x80000000000000000000000000000000")]
    [TestCase(0x0000_0000_0000_0130UL, 0UL, "TLBI_NSNH_ALL res0!=0x100")]
    public void Set_reserved_bits_are_shown_as_one_128_bit_value(ulong w0, ulong w1, string expected)
    {
        var command = new SmmuCommand(w0, w1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(SmmuCommandDecoder.Decode(command), Is.EqualTo(expected));
            bool ok = SmmuCommandDecoder.TryParse(expected, out SmmuCommand parsed, out string error);
            Assert.That(ok, Is.True, error);
            Assert.That(parsed, Is.EqualTo(command));
        }
    }

    [Test]
    public void TTL128_is_shown_only_when_set_and_parses_back()
    {
        // TLBI_NH_VA with TTL128 (w1[7]) set: w1 = 0x4000_1000 | 0x80 | TG 4K (0x400) | TTL 3 (0x300) | Leaf.
        var command = new SmmuCommand(0x002A_0001_0000_0012, 0x0000_0000_4000_1781);
        const string Text = "TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 ttl128=1 num=0 scale=0 leaf=1";

        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.Ttl128, Is.True);
            Assert.That(SmmuCommandDecoder.Decode(command), Is.EqualTo(Text));
            Assert.That(SmmuCommandDecoder.TryParse(Text, out SmmuCommand parsed, out _), Is.True);
            Assert.That(parsed, Is.EqualTo(command));
        }
    }

    [Test]
    public void Six_bit_SCALE_of_IDR5_DS_is_encoded_decoded_and_shown()
    {
        SmmuCommand command = SmmuCommandBuilder.TlbiNhVa(1, 2, 0x1000, false, 0, SmmuCommand.TG_4K, 0, 63);

        using (Assert.EnterMultipleScope())
        {
            // SCALE = 63 -> w0[25:20] = 0x3F -> 0x03F0_0000.
            Assert.That(command.Word0, Is.EqualTo(0x0002_0001_03F0_0012UL));
            Assert.That(command.Scale, Is.EqualTo(63));
            Assert.That(SmmuCommandDecoder.Decode(command), Does.Contain(" scale=63 "));
            Assert.That(SmmuCommandLayout.HasReservedBitsSet(command), Is.False);
        }
    }

    [Test]
    public void Decoding_random_entries_never_throws_and_always_parses_back()
    {
        var random = new Random(0x5EED);
        var failures = new List<string>();
        Span<byte> entry = stackalloc byte[16];

        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(entry);
            SmmuCommand command = SmmuCommand.Read(entry);
            string text = SmmuCommandDecoder.Decode(command);
            if (!SmmuCommandDecoder.TryParse(text, out SmmuCommand parsed, out string error) || parsed != command)
            {
                failures.Add($"{text} -> {error} w0=0x{parsed.Word0:x16} w1=0x{parsed.Word1:x16}");
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void Random_words_under_every_architected_opcode_round_trip_through_text()
    {
        var random = new Random(20_240_611);
        var failures = new List<string>();

        foreach (SmmuOpcode opcode in Enum.GetValues<SmmuOpcode>())
        {
            string name = SmmuCommandDecoder.GetName(opcode)!;
            for (int i = 0; i < 500; i++)
            {
                // Half the entries keep only defined bits, half carry random reserved bits as well.
                SmmuCommandLayout.DefinedMask(opcode, out ulong m0, out ulong m1);
                ulong w0 = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
                ulong w1 = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
                if (i % 2 == 0)
                {
                    w0 &= m0;
                    w1 &= m1;
                }

                var command = new SmmuCommand((w0 & ~0xFFUL) | (byte)opcode, w1);
                string text = SmmuCommandDecoder.Decode(command);
                bool parsed = SmmuCommandDecoder.TryParse(text, out SmmuCommand back, out string error);
                if (!text.StartsWith(name + " ", StringComparison.Ordinal) && text != name)
                {
                    failures.Add($"{text}: does not start with {name}");
                }
                else if (!parsed || back != command)
                {
                    failures.Add($"{text}: {error}");
                }
                else if (i % 2 == 0 && text.Contains("res0", StringComparison.Ordinal))
                {
                    failures.Add($"{text}: only defined bits were set");
                }
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void Decoded_text_always_fits_MaxDecodedLength()
    {
        // The longest forms: every bit set under each opcode, so that every field and res0 are at their widest.
        int longest = Enumerable.Range(0, 256)
            .Select(op => new SmmuCommand((ulong.MaxValue & ~0xFFUL) | (uint)op, ulong.MaxValue))
            .Select(command => SmmuCommandDecoder.Decode(command).Length)
            .Max();

        Assert.That(longest, Is.LessThanOrEqualTo(SmmuCommandDecoder.MaxDecodedLength));
    }

    [Test]
    public void TryFormat_reports_a_short_buffer_instead_of_throwing()
    {
        SmmuCommand command = SmmuCommandBuilder.TlbiNhVa(1, 0x2a, 0x4000_1000, true, 3, 1, 0, 0);
        Span<char> small = stackalloc char[20];
        Span<char> large = stackalloc char[SmmuCommandDecoder.MaxDecodedLength];

        bool smallOk = SmmuCommandDecoder.TryFormat(command, small, out int smallWritten);
        bool largeOk = SmmuCommandDecoder.TryFormat(command, large, out int largeWritten);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(smallOk, Is.False);
            Assert.That(smallWritten, Is.Zero);
            Assert.That(largeOk, Is.True);
            Assert.That(large[..largeWritten].ToString(),
                Is.EqualTo("TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1"));
        }
    }

    [Test]
    public void TryFormat_does_not_allocate()
    {
        SmmuCommand command = SmmuCommandBuilder.CmdSync(1, 0x8000_0040, 0x1234_5678, 3, 0xf);
        var withRes0 = new SmmuCommand(command.Word0 | 0x100, command.Word1 | 1);
        Span<char> buffer = stackalloc char[SmmuCommandDecoder.MaxDecodedLength];
        SmmuCommandDecoder.TryFormat(command, buffer, out _);
        SmmuCommandDecoder.TryFormat(withRes0, buffer, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int i = 0; i < 100; i++)
        {
            SmmuCommandDecoder.TryFormat(command, buffer, out int written);
            SmmuCommandDecoder.TryFormat(withRes0, buffer, out int written2);
            total += written + written2;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(allocated, Is.Zero);
            Assert.That(total, Is.GreaterThan(0));
        }
    }

    [TestCase("cmd_tlbi_nh_va VMID=1 asid=42 addr=0x40001000 tg=4k ttl=3 leaf=1",
        0x002A_0001_0000_0012UL, 0x0000_0000_4000_1701UL)]
    [TestCase("  TLBI_NH_VA\tleaf=1  ttl=0x3 tg=4K addr=1073745920 asid=0x2A vmid=0x1  ",
        0x002A_0001_0000_0012UL, 0x0000_0000_4000_1701UL)]
    [TestCase("CFGI_ALL", 0x0000_0000_0000_0004UL, 0x0000_0000_0000_001FUL)]
    [TestCase("CMD_CFGI_ALL ssec=1", 0x0000_0000_0000_0404UL, 0x0000_0000_0000_001FUL)]
    [TestCase("CMD_SYNC", 0x0000_0000_0000_0046UL, 0UL)]
    [TestCase("CMD_SYNC cs=2", 0x0000_0000_0000_2046UL, 0UL)]
    [TestCase("RESERVED(0x5f)", 0x0000_0000_0000_005FUL, 0UL)]
    [TestCase("IMPDEF(133) w1=0x10", 0x0000_0000_0000_0085UL, 0x10UL)]
    public void TryParse_accepts_hand_written_forms(string text, ulong w0, ulong w1)
    {
        bool parsed = SmmuCommandDecoder.TryParse(text, out SmmuCommand command, out string error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed, Is.True, error);
            Assert.That(command.Word0, Is.EqualTo(w0), $"w0 = 0x{command.Word0:x16}");
            Assert.That(command.Word1, Is.EqualTo(w1), $"w1 = 0x{command.Word1:x16}");
        }
    }

    [TestCase("", "no command")]
    [TestCase("   ", "no command")]
    [TestCase("TLBI_NH_FOO vmid=1", "Unknown opcode")]
    [TestCase("TLBI_NH_ALL asid=0x1", "'asid' is not a field of TLBI_NH_ALL")]
    [TestCase("ATC_INV ssec=1", "'ssec' is not a field of ATC_INV")]
    [TestCase("TLBI_NH_ALL vmid=0x10000", "does not fit its 16-bit field")]
    [TestCase("TLBI_NH_VA num=32", "does not fit its 5-bit field")]
    [TestCase("CFGI_CD ssid=0x100000", "does not fit its 20-bit field")]
    [TestCase("TLBI_NH_VA addr=0x1234", "bits outside [63:12]")]
    [TestCase("TLBI_S2_IPA ipa=0x100000000000000", "bits outside [55:12]")]
    [TestCase("CMD_SYNC msiaddr=0x2", "bits outside [55:2]")]
    [TestCase("TLBI_NH_VA tg=8K", "tg must be 0, 4K, 16K or 64K")]
    [TestCase("TLBI_NH_VA tg=1", "tg must be 0, 4K, 16K or 64K")]
    [TestCase("CFGI_STE sid=1 sid=2", "'sid' is given twice")]
    [TestCase("CFGI_STE sid", "Expected key=value")]
    [TestCase("CFGI_STE =1", "Expected key=value")]
    [TestCase("CFGI_STE sid=zz", "not a number")]
    [TestCase("CFGI_STE sid=-1", "not a number")]
    [TestCase("CFGI_STE sid=0x", "not a number")]
    [TestCase("CFGI_STE res0!=0x3", "overlaps fields")]
    [TestCase("CFGI_STE res0!=0x800 res0!=0x1000", "res0 is given twice")]
    [TestCase("CFGI_STE res0!=800", "res0 must be a hex number")]
    [TestCase("RESERVED(0x12)", "0x12 is TLBI_NH_VA, not a raw opcode")]
    [TestCase("RESERVED(0x85)", "write IMPDEF(0x85)")]
    [TestCase("IMPDEF(0x5f)", "not IMPLEMENTATION DEFINED")]
    [TestCase("RESERVED(0x100)", "must name an opcode byte")]
    [TestCase("RESERVED(0x5f", "must name an opcode byte")]
    [TestCase("RESERVED(0x5f) w0=0x60", "w0 holds opcode 0x60, not 0x5f")]
    [TestCase("RESERVED(0x5f) sid=1", "only w0= and w1=")]
    [TestCase("RESERVED(0x5f) w1=1 w1=2", "'w1' is given twice")]
    public void TryParse_rejects_malformed_text_with_a_reason(string text, string reason)
    {
        bool parsed = SmmuCommandDecoder.TryParse(text, out SmmuCommand command, out string error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed, Is.False);
            Assert.That(command, Is.EqualTo(default(SmmuCommand)));
            Assert.That(error, Does.Contain(reason));
        }
    }

    [Test]
    public void TryParse_of_null_is_a_programmer_error()
    {
        Assert.That(() => SmmuCommandDecoder.TryParse((string)null!, out _, out _),
            Throws.ArgumentNullException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("text"));
    }

    [Test]
    public void Every_architected_opcode_has_its_specification_mnemonic()
    {
        var wrong = Enum.GetValues<SmmuOpcode>()
            .Where(op => SmmuCommandDecoder.GetName(op) != op.ToString())
            .ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(wrong, Is.Empty);
            Assert.That(SmmuCommandDecoder.GetName((SmmuOpcode)0x5F), Is.Null);
            Assert.That(SmmuCommandDecoder.GetName((SmmuOpcode)0x85), Is.Null);
        }
    }
}
