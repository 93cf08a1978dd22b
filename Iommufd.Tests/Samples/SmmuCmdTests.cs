using System.Buffers.Binary;
using System.Globalization;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Tests.Support;
using SmmuCmd;
using B = Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.Samples;

/// <summary>
/// The <c>smmucmd</c> sample, driven in process through <see cref="SmmuCmdTool.Run(string[], TextReader, TextWriter, TextWriter, Func{Stream}?, Func{Stream}?)"/>:
/// decode and encode give back the exact words of every opcode, every input form is read, <c>check</c> gives each
/// queue's verdict with its reason and exit code, and bad input is exit code 2 with the line named.
/// </summary>
public class SmmuCmdTests
{
    private static readonly SmmuOpcode[] AllOpcodes = Enum.GetValues<SmmuOpcode>();

    private string _scratch = string.Empty;

    [SetUp]
    public void CreateScratchDirectory()
    {
        _scratch = Path.Combine(Path.GetTempPath(), "smmucmd-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_scratch);
    }

    [TearDown]
    public void DeleteScratchDirectory() => Directory.Delete(_scratch, recursive: true);

    // ---- encode → decode round trips ----

    [TestCaseSource(nameof(AllOpcodes))]
    public void A_built_command_of_every_opcode_round_trips_through_decode_and_encode(SmmuOpcode opcode)
    {
        SmmuCommand command = Representative(opcode);
        SmmuCommandLayout.DefinedMask(opcode, out ulong m0, out ulong m1);
        bool hasFields = ((m0 & ~SmmuCommandLayout.W0_OPCODE) | m1) != 0;
        Assert.That(((command.Word0 & ~SmmuCommandLayout.W0_OPCODE) | command.Word1) != 0, Is.EqualTo(hasFields),
            "the representative sets a field whenever the opcode has one");

        AssertRoundTrip(command, SmmuCommandDecoder.GetName(opcode)!);
    }

    [TestCaseSource(nameof(AllOpcodes))]
    public void Every_defined_bit_of_every_opcode_round_trips_through_decode_and_encode(SmmuOpcode opcode)
    {
        SmmuCommandLayout.DefinedMask(opcode, out ulong m0, out ulong m1);
        var command = new SmmuCommand((m0 & ~SmmuCommandLayout.W0_OPCODE) | (byte)opcode, m1);
        Assert.That(command.Opcode, Is.EqualTo(opcode));

        string text = AssertRoundTrip(command, SmmuCommandDecoder.GetName(opcode)!);
        Assert.That(text, Does.Not.Contain("res0"));
    }

    [TestCaseSource(nameof(AllOpcodes))]
    public void Every_bit_of_every_opcode_including_reserved_ones_round_trips_through_decode_and_encode(SmmuOpcode opcode)
    {
        var command = new SmmuCommand(~0xFFUL | (byte)opcode, ulong.MaxValue);

        string text = AssertRoundTrip(command, SmmuCommandDecoder.GetName(opcode)!);
        Assert.That(text, Does.Contain(" res0!=0x"));
    }

    [TestCase(0x5FUL, "RESERVED(0x5f)")]
    [TestCase(0x00UL, "RESERVED(0x00)")]
    [TestCase(0x85UL, "IMPDEF(0x85)")]
    public void Raw_opcodes_round_trip_through_decode_and_encode(ulong opcode, string head)
    {
        AssertRoundTrip(new SmmuCommand(0xDEAD_BEEF_0000_0000UL | opcode, 0x0123_4567_89AB_CDEF), head);
    }

    [Test]
    public void Encode_reads_back_what_decode_prints_for_a_whole_stream_indices_included()
    {
        SmmuCommand[] commands =
        [
            B.TlbiNhVa(1, 0x2a, 0x4000_1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0),
            B.AtcInv(0x10, 0x5, ssv: true, global: false, 0x8000_0000, 4),
            B.CmdSync(SmmuCommand.CS_SIG_IRQ, 0x8000_0040, 0x1234, SmmuCommand.MSH_ISH, SmmuCommand.MSIATTR_OIWB),
        ];
        var decoded = Run(Hex(commands), "decode");

        var encoded = Run(decoded.Out, "encode");

        Assert.Multiple(() =>
        {
            Assert.That(decoded.Code, Is.Zero, decoded.Err);
            Assert.That(encoded.Code, Is.Zero, encoded.Err);
            Assert.That(encoded.Out, Is.EqualTo(Hex(commands)));
        });
    }

    // ---- decode input forms ----

    [Test]
    public void Decode_prints_one_indexed_line_per_entry_from_word_pairs()
    {
        var result = Run("0x002a000100000012 0x0000000040001701\n0x46 0x0\n", "decode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(Lines(result.Out), Is.EqualTo(new[]
            {
                "0: TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1",
                "1: CMD_SYNC cs=0 msh=0 msiattr=0x0 msidata=0x0 msiaddr=0x0",
            }));
            Assert.That(result.Err, Is.Empty);
        });
    }

    [Test]
    public void Decode_reads_whole_entries_comments_bare_digits_and_pairs_that_span_lines()
    {
        const string Input = """
            # a TLBI_NH_ASID as one 128-bit number: w1 first
            0x0000000000000000002a000900000011
            0000001000000003   # CFGI_STE w0, no 0x ...
            1                  # ... and its w1 on the next line

            0X30 0X0 0x10 0x0  # two entries on one line
            """;

        var result = Run(Input, "decode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Err);
            Assert.That(Lines(result.Out), Is.EqualTo(new[]
            {
                "0: TLBI_NH_ASID vmid=0x9 asid=0x2a",
                "1: CFGI_STE ssec=0 sid=0x10 leaf=1",
                "2: TLBI_NSNH_ALL",
                "3: TLBI_NH_ALL vmid=0x0",
            }));
        });
    }

    [Test]
    public void Decode_numbers_entries_from_0_as_it_streams_them()
    {
        string input = string.Concat(Enumerable.Repeat("0x30 0\n", 11));

        var result = Run(input, "decode");

        string[] lines = Lines(result.Out);
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(11));
            Assert.That(lines[0], Is.EqualTo("0: TLBI_NSNH_ALL"));
            Assert.That(lines[10], Is.EqualTo("10: TLBI_NSNH_ALL"));
        });
    }

    [Test]
    public void Decode_binary_reads_little_endian_16_byte_entries_from_a_file()
    {
        string path = WriteBinary(
            B.TlbiNhAsid(9, 0x2a),
            B.CmdSync(SmmuCommand.CS_SIG_SEV));

        var result = Run(string.Empty, "decode", path, "--binary");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Err);
            Assert.That(Lines(result.Out), Is.EqualTo(new[]
            {
                "0: TLBI_NH_ASID vmid=0x9 asid=0x2a",
                "1: CMD_SYNC cs=2 msh=0 msiattr=0x0 msidata=0x0 msiaddr=0x0",
            }));
        });
    }

    [Test]
    public void Decode_binary_reads_standard_input_as_bytes()
    {
        var bytes = new byte[16];
        B.CfgiCdAll(0x77).Write(bytes);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = SmmuCmdTool.Run(["decode", "-", "--binary"], new StringReader(string.Empty), stdout, stderr,
            () => new MemoryStream(bytes), openStdout: null);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(SmmuCmdTool.ExitSuccess), stderr.ToString());
            Assert.That(stdout.ToString(), Is.EqualTo("0: CFGI_CD_ALL ssec=0 sid=0x77" + Environment.NewLine));
        });
    }

    [Test]
    public void Decode_binary_refuses_a_trailing_partial_entry()
    {
        string path = Path.Combine(_scratch, "short.bin");
        File.WriteAllBytes(path, new byte[20]);

        var result = Run(string.Empty, "decode", "--binary", path);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain("20 bytes").And.Contain("4 bytes left over"));
            Assert.That(result.Out, Is.Empty);
        });
    }

    // ---- malformed input ----

    [TestCase("0x30 0\n0x12 0xzz\n", "line 2", "'0xzz' is not a hex number", 1)]
    [TestCase("0x30 0\n# fine\n0x12\n", "line 3", "has no w1", 1)]
    [TestCase("0x12\n0x0000000000000000002a000900000011\n", "line 2", "follows the lone word", 0)]
    [TestCase("0x123456789012345678901\n", "line 1", "21 hex digits", 0)]
    [TestCase("0x 0\n", "line 1", "'0x' is not a hex number", 0)]
    public void Decode_of_malformed_hex_exits_2_naming_the_line_and_the_reason_after_the_entries_before_it(
        string input, string line, string reason, int before)
    {
        var result = Run(input, "decode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain(line).And.Contain(reason));
            Assert.That(Lines(result.Out), Has.Length.EqualTo(before), "the stream stops at the bad entry");
        });
    }

    [TestCase("CMD_SYNC cs=1\nTLBI_NH_ALL vmid=1\nTLBI_FOO vmid=1\n", "line 3", "Unknown opcode 'TLBI_FOO'", 2)]
    [TestCase("TLBI_NH_ASID vmid=0x10000\n", "line 1", "does not fit", 0)]
    [TestCase("# header\n\nTLBI_NH_VA tg=8K\n", "line 3", "tg must be 0, 4K, 16K or 64K", 0)]
    [TestCase("CFGI_STE sid=1 asid=2\n", "line 1", "'asid' is not a field of CFGI_STE", 0)]
    [TestCase("TLBI_NH_VA addr=0x1234\n", "line 1", "has bits outside", 0)]
    [TestCase("CMD_SYNC cs\n", "line 1", "Expected key=value", 0)]
    public void Encode_of_a_bad_line_exits_2_naming_the_line_and_the_reason(
        string input, string line, string reason, int before)
    {
        var result = Run(input, "encode");
        string file = Path.Combine(_scratch, "out.hex");
        File.WriteAllText(file, "kept\n");
        var toFile = Run(input, "encode", "-o", file);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain(line).And.Contain(reason));
            Assert.That(Lines(result.Out), Has.Length.EqualTo(before), "standard output stops at the bad line");
            Assert.That(toFile.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(File.ReadAllText(file), Is.EqualTo("kept\n"), "-o FILE is replaced only when every line encoded");
            Assert.That(Directory.GetFiles(_scratch), Is.EqualTo(new[] { file }), "no temporary file is left behind");
        });
    }

    [Test]
    public void Check_of_malformed_input_exits_2_not_1()
    {
        var result = Run("TLBI_NH_ALL vmid=1\nTLBI_NH_ALL vmid=1 vmid=2\n", "check", "--commands");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain("line 2").And.Contain("given twice"));
        });
    }

    // ---- encode outputs ----

    [Test]
    public void Encode_prints_each_command_as_a_w0_w1_hex_pair_skipping_comments_and_blank_lines()
    {
        const string Input = """
            # invalidate, then sync
            TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1

            cmd_sync CS=1 msiaddr=0x80000040   # any case, keys in any order, missing keys zero
            """;

        var result = Run(Input, "encode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Err);
            Assert.That(Lines(result.Out), Is.EqualTo(new[]
            {
                "0x002a000100000012 0x0000000040001701",
                "0x0000000000001046 0x0000000080000040",
            }));
        });
    }

    [Test]
    public void Encode_binary_writes_little_endian_entries_to_the_output_file()
    {
        string path = Path.Combine(_scratch, "out.bin");

        var result = Run("TLBI_NH_ASID vmid=9 asid=0x2a\nCFGI_ALL\n", "encode", "--binary", "-o", path);

        var expected = new byte[32];
        B.TlbiNhAsid(9, 0x2a).Write(expected);
        B.CfgiAll().Write(expected.AsSpan(16));
        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Err);
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(expected), Is.EqualTo(0x002a_0009_0000_0011UL));
        });
    }

    [Test]
    public void Encode_binary_to_standard_output_writes_the_bytes_to_the_byte_stream()
    {
        var bytes = new MemoryStream();
        var stdout = new StringWriter();

        int code = SmmuCmdTool.Run(["encode", "--binary", "-o", "-"], new StringReader("TLBI_NSNH_ALL\n"), stdout,
            new StringWriter(), openStdin: null, () => bytes);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(bytes.ToArray(), Is.EqualTo(new byte[] { 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
            Assert.That(stdout.ToString(), Is.Empty);
        });
    }

    [Test]
    public void Encode_binary_without_an_output_file_is_a_usage_error()
    {
        var result = Run("TLBI_NSNH_ALL\n", "encode", "--binary");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain("needs -o FILE"));
        });
    }

    [Test]
    public void A_binary_file_written_by_encode_decodes_to_the_same_commands()
    {
        string path = Path.Combine(_scratch, "q.bin");
        const string Commands = "TLBI_S2_IPA vmid=0x3 ipa=0x40000000 tg=64K ttl=2 num=3 scale=1 leaf=1\n"
            + "PRI_RESP ssv=1 ssid=0x4 sid=0x9 prgindex=0x1ff resp=2\n";
        Run(Commands, "encode", "--binary", "-o", path);

        var result = Run(string.Empty, "decode", "--binary", path);

        Assert.That(Lines(result.Out), Is.EqualTo(new[]
        {
            "0: TLBI_S2_IPA vmid=0x3 ipa=0x40000000 tg=64K ttl=2 num=3 scale=1 leaf=1",
            "1: PRI_RESP ssv=1 ssid=0x4 sid=0x9 prgindex=0x1ff resp=2",
        }));
    }

    // ---- check: the SMMU's own queue ----

    [Test]
    public void Check_smmu_accepts_a_legal_stream_with_exit_code_0()
    {
        string input = Hex(
            B.TlbiNhVa(1, 0x2a, 0x4000_1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0),
            B.CfgiSte(0x10, leaf: true),
            B.AtcInv(0x10, 0, ssv: false, global: false, 0, 52),
            B.CmdSync(SmmuCommand.CS_SIG_IRQ));

        var result = Run(input, "check", "--queue", "smmu");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(Lines(result.Out), Is.EqualTo(new[] { "smmu queue: 4 entries, all accepted" }));
        });
    }

    [Test]
    public void Check_smmu_names_each_refused_entry_and_why_with_exit_code_1()
    {
        string input = Hex(
            B.TlbiNhAll(1),
            B.AtcInv(0x10, 0, ssv: false, global: false, 0, 60),
            B.CmdSync(3),
            new SmmuCommand(0x5F, 0),
            B.CfgiSte(0x10, leaf: true).WithSSec(true),
            new SmmuCommand((byte)SmmuOpcode.TLBI_NSNH_ALL, 1UL << 6),
            B.TlbiNhVa(1, 2, 0x1000, leaf: false, ttl: 0, tg: SmmuCommand.TG_4K, num: 0, scale: 0));

        var result = Run(input, "check");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(result.Out, Does.Not.Contain("0: TLBI_NH_ALL"), "accepted entries are not listed");
            Assert.That(result.Out, Does.Contain("1: ATC_INV").And.Contain("CERROR_ILL: ATC_INV Size = 60 is above 52"));
            Assert.That(result.Out, Does.Contain("2: CMD_SYNC cs=3").And.Contain("CMD_SYNC CS = 3 is Reserved"));
            Assert.That(result.Out, Does.Contain("3: RESERVED(0x5f)").And.Contain("opcode 0x5f is Reserved"));
            Assert.That(result.Out, Does.Contain("4: CFGI_STE ssec=1").And.Contain("SSec = 1 on the Non-secure queue"));
            Assert.That(result.Out, Does.Contain("5: TLBI_NSNH_ALL res0!=0x400000000000000000")
                .And.Contain("RES0 bits [70] are set for TLBI_NSNH_ALL"));
            Assert.That(result.Out, Does.Contain("NUM = SCALE = TTL = 0 with TG != 0 is Reserved"));
            Assert.That(Lines(result.Out)[^1],
                Is.EqualTo("smmu queue: 7 entries, 1 accepted, 6 refused; the queue stops with CERROR_ILL at entry 1"));
        });
    }

    [TestCase("no-ats", "ATC_INV needs ATS (IDR0.ATS = 0)")]
    [TestCase("no-s1", "TLBI_NH_ASID needs stage 1")]
    [TestCase("no-s2", "VMID = 0x9 must be 0 without stage 2")]
    [TestCase("no-ril", "TG = 4K needs range invalidation, which this SMMU lacks (IDR3.RIL = 0)")]
    public void Check_smmu_features_turn_off_what_the_default_smmu_accepts(string feature, string reason)
    {
        string input = Hex(
            B.AtcInv(0x10, 0, ssv: false, global: false, 0x1000, 0),
            B.TlbiNhAsid(9, 1),
            B.TlbiNhVa(0, 1, 0x1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0));

        var byDefault = Run(input, "check");
        var changed = Run(input, "check", "--features", feature);

        Assert.Multiple(() =>
        {
            Assert.That(byDefault.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), byDefault.Out);
            Assert.That(changed.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(changed.Out, Does.Contain(reason));
        });
    }

    [TestCase("hyp", "TLBI_EL2_ASID", "TLBI_EL2_ASID needs IDR0.HYP")]
    [TestCase("pri", "PRI_RESP", "PRI_RESP needs PRI (IDR0.PRI = 0)")]
    [TestCase("mpam", "CFGI_VMS_PIDM", "CFGI_VMS_PIDM needs MPAM")]
    [TestCase("stall", "STALL_TERM", "STALL_TERM needs stalls")]
    public void Check_smmu_features_turn_on_what_the_default_smmu_refuses(string feature, string opcode, string reason)
    {
        string input = $"{opcode}\n";

        var byDefault = Run(input, "check", "--commands");
        var changed = Run(input, "check", "--commands", "--features", feature);

        Assert.Multiple(() =>
        {
            Assert.That(byDefault.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(byDefault.Out, Does.Contain(reason));
            Assert.That(changed.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), changed.Out);
        });
    }

    [Test]
    public void Check_smmu_refuses_secure_only_commands_on_the_non_secure_queue()
    {
        var result = Run("TLBI_EL3_ALL\nTLBI_SNH_ALL\nDPTI_ALL\n", "check", "--commands");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(result.Out, Does.Contain("TLBI_EL3_ALL is for the Secure queue only")
                .And.Contain("TLBI_SNH_ALL is for the Secure queue only")
                .And.Contain("DPTI_ALL needs IDR3.DPT"));
            Assert.That(Lines(result.Out)[^1], Does.StartWith("smmu queue: 3 entries, 0 accepted, 3 refused"));
        });
    }

    [Test]
    public void Check_verbose_lists_accepted_entries_too()
    {
        var result = Run("TLBI_NH_ALL vmid=1\n", "check", "--commands", "-v");

        Assert.That(Lines(result.Out), Is.EqualTo(new[]
        {
            "0: TLBI_NH_ALL vmid=0x1",
            "   accepted",
            "smmu queue: 1 entry, all accepted",
        }));
    }

    [Test]
    public void Check_reads_binary_input()
    {
        string path = WriteBinary(B.TlbiNhAll(1), B.CmdSync(3));

        var result = Run(string.Empty, "check", "--binary", path);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(result.Out, Does.Contain("1: CMD_SYNC cs=3"));
        });
    }

    // ---- check: the trap path ----

    [Test]
    public void Check_trap_refuses_what_is_not_forwardable_even_when_the_smmu_would_take_it()
    {
        string input = Hex(
            B.TlbiNhVa(1, 0x2a, 0x4000_1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0),
            B.CmdSync(SmmuCommand.CS_SIG_IRQ),
            B.CfgiSte(0x10, leaf: true),
            B.TlbiS12Vmall(1),
            B.CfgiCd(0x10, 1, leaf: true));

        var smmu = Run(input, "check", "--queue", "smmu");
        var trap = Run(input, "check", "--queue", "trap");

        Assert.Multiple(() =>
        {
            Assert.That(smmu.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), smmu.Out);
            Assert.That(trap.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(trap.Out, Does.Contain("1: CMD_SYNC").And.Contain("EIO: CMD_SYNC is not forwardable")
                .And.Contain("the host appends its own CMD_SYNC"));
            Assert.That(trap.Out, Does.Contain("EIO: CFGI_STE is not forwardable"));
            Assert.That(trap.Out, Does.Contain("EIO: TLBI_S12_VMALL is not forwardable"));
            Assert.That(trap.Out, Does.Not.Contain("0: TLBI_NH_VA").And.Not.Contain("4: CFGI_CD"));
            Assert.That(Lines(trap.Out)[^1], Is.EqualTo("trap path (IOMMU_HWPT_INVALIDATE): 5 entries, 2 accepted, "
                + "3 refused; the ioctl fails with EIO at entry 1 (entry_num = 1)"));
        });
    }

    [Test]
    public void Check_trap_accepts_every_forwardable_opcode_when_legal()
    {
        string input = Hex(
            B.TlbiNhAll(0),
            B.TlbiNhAsid(0, 1),
            B.TlbiNhVa(0, 1, 0x1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0),
            B.TlbiNhVaa(0, 0x1000, leaf: false, ttl: 0, tg: SmmuCommand.TG_4K, num: 7, scale: 0),
            B.TlbiNsnhAll(),
            B.AtcInv(0x10, 3, ssv: true, global: false, 0x2000, 1),
            B.CfgiCd(0x10, 3, leaf: true),
            B.CfgiCdAll(0x10));

        var result = Run(input, "check", "-q", "trap");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(Lines(result.Out), Is.EqualTo(new[] { "trap path (IOMMU_HWPT_INVALIDATE): 8 entries, all accepted" }));
        });
    }

    [TestCase("no-ats", "ATC_INV ssv=1 ssid=0x1 sid=0x10 size=0", "ATC_INV needs ATS, which the host SMMU lacks")]
    [TestCase("ssid-bits=0", "ATC_INV ssv=1 ssid=0x1 sid=0x10 size=0", "ATC_INV SSV and Global need SubstreamIDs")]
    [TestCase("ssid-bits=4", "CFGI_CD sid=0x10 ssid=0x10 leaf=1", "CFGI_CD SSID = 0x10 does not fit the host's 4-bit SubstreamIDs")]
    [TestCase("no-ril", "TLBI_NH_VA asid=1 tg=4K num=3", "TG = 4K needs range invalidation, which the host SMMU lacks")]
    public void Check_trap_reads_the_host_features_from_the_smmu_registers(string feature, string command, string reason)
    {
        var byDefault = Run(command + "\n", "check", "--commands", "-q", "trap");
        var changed = Run(command + "\n", "check", "--commands", "-q", "trap", "-f", feature);

        Assert.Multiple(() =>
        {
            Assert.That(byDefault.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), byDefault.Out);
            Assert.That(changed.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(changed.Out, Does.Contain("EIO: " + reason));
        });
    }

    [Test]
    public void Check_trap_names_reserved_bits_and_ssec()
    {
        string input = Hex(
            new SmmuCommand((byte)SmmuOpcode.TLBI_NH_ALL | (1UL << 50), 0),
            B.CfgiCdAll(0x10).WithSSec(true));

        var result = Run(input, "check", "--queue=trap");

        Assert.Multiple(() =>
        {
            Assert.That(result.Out, Does.Contain("EIO: RES0 bits [50] are set for TLBI_NH_ALL"));
            Assert.That(result.Out, Does.Contain("EIO: SSec = 1"));
        });
    }

    [TestCase("TLBI_NH_VA asid=1 tg=0 ttl=1", "")]
    [TestCase("TLBI_NH_VA asid=1 tg=4K ttl=3", "no-ril")]
    [TestCase("TLBI_NH_VAA tg=16K ttl=1", "")]
    public void Check_trap_never_silently_accepts_what_the_host_queue_would_refuse(string command, string feature)
    {
        string[] args = ["check", "--commands", "-q", "trap", "-f", feature];
        var smmu = Run(command + "\n", "check", "--commands", "-f", feature);

        var trap = Run(command + "\n", args);

        Assert.Multiple(() =>
        {
            Assert.That(smmu.Code, Is.EqualTo(SmmuCmdTool.ExitRefused), "the host SMMU itself refuses it");
            Assert.That(trap.Out, Does.Contain("refused: EIO").Or.Contain("warning: the ioctl accepts it, but the host queue would raise CERROR_ILL"));
            Assert.That(trap.Out, Does.Not.Contain("is not legal for the host SMMU"), "the reason is specific");
        });
    }

    [TestCase("smmu", "")]
    [TestCase("smmu", "no-ril,no-s2,hyp,pri,ds,mpam,stall")]
    [TestCase("trap", "")]
    [TestCase("trap", "no-ril,no-ats,ssid-bits=0")]
    [TestCase("vcmdq", "")]
    [TestCase("vcmdq", "no-ats,no-ril")]
    public void Check_gives_a_specific_reason_for_every_refusal_of_random_entries(string queue, string features)
    {
        // Words biased towards small field values, so that both legal and illegal encodings of every opcode occur.
        var random = new Random(20261121);
        var commands = new List<SmmuCommand>();
        for (int op = 0; op < 256; op++)
        {
            for (int i = 0; i < 8; i++)
            {
                SmmuCommandLayout.DefinedMask((SmmuOpcode)op, out ulong m0, out ulong m1);
                ulong w0 = (ulong)random.NextInt64() & (i < 6 ? m0 : ulong.MaxValue) & (i % 2 == 0 ? 0xFFFF_0000_0000_FFFFUL : ulong.MaxValue);
                ulong w1 = (ulong)random.NextInt64() & (i < 6 ? m1 : ulong.MaxValue) & (i % 3 == 0 ? 0xFFFUL : ulong.MaxValue);
                commands.Add(new SmmuCommand((w0 & ~SmmuCommandLayout.W0_OPCODE) | (uint)op, w1));
            }
        }

        var result = Run(Hex([.. commands]), "check", "-q", queue, "-f", features);

        string[] refusals = Lines(result.Out).Where(l => l.Contains("refused: ", StringComparison.Ordinal)).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused), result.Err);
            Assert.That(refusals, Has.Length.InRange(1, commands.Count - 1), "some entries are accepted and some refused");
            Assert.That(refusals, Has.None.Contain("is not legal on this SMMU").And.None.Contain("is not legal for the host SMMU"));
        });
    }

    // ---- check: a guest-owned VCMDQ ----

    [Test]
    public void Check_vcmdq_accepts_only_the_allow_list()
    {
        string input = Hex(
            B.TlbiNhAsid(0, 1),
            B.TlbiNhVa(0, 1, 0x1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0),
            B.AtcInv(0x10, 0, ssv: false, global: false, 0, 52),
            B.CmdSync(SmmuCommand.CS_SIG_NONE));

        var result = Run(input, "check", "--queue", "vcmdq");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Out);
            Assert.That(Lines(result.Out), Is.EqualTo(new[] { "guest VCMDQ: 4 entries, all accepted" }));
        });
    }

    [Test]
    public void Check_vcmdq_notes_which_refused_commands_the_host_fix_up_would_run()
    {
        string input = Hex(
            B.TlbiNhAll(0),
            B.TlbiNhVaa(0, 0x1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 0, scale: 0),
            B.TlbiNsnhAll(),
            B.CfgiCd(0x10, 1, leaf: true),
            B.CfgiCdAll(0x10),
            B.CfgiSte(0x10, leaf: true),
            B.TlbiNhAsid(0, 1));

        var result = Run(input, "check", "--queue", "vcmdq");

        string[] lines = Lines(result.Out);
        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(lines.Count(l => l.Contains("is not on a guest-owned VCMDQ's allow-list", StringComparison.Ordinal)), Is.EqualTo(6));
            Assert.That(lines.Count(l => l.Contains("note: the host fix-up would run it", StringComparison.Ordinal)), Is.EqualTo(5));
            int cfgiSte = Array.FindIndex(lines, l => l.StartsWith("5: CFGI_STE", StringComparison.Ordinal));
            Assert.That(cfgiSte, Is.GreaterThanOrEqualTo(0));
            Assert.That(lines[cfgiSte + 1], Does.Contain("refused: CERROR_ILL: CFGI_STE is not on"));
            Assert.That(lines[cfgiSte + 2], Does.Not.Contain("note:"), "CFGI_STE has no fix-up");
            Assert.That(lines[^1], Is.EqualTo("guest VCMDQ: 7 entries, 1 accepted, 6 refused (5 run by the host fix-up); "
                + "the queue stops with CERROR_ILL at entry 5"));
        });
    }

    [Test]
    public void Check_vcmdq_says_when_the_host_fix_up_would_refuse_too()
    {
        string input = Hex(B.TlbiNhVaa(0, 0x1000, leaf: true, ttl: 0, tg: SmmuCommand.TG_4K, num: 0, scale: 0));

        var result = Run(input, "check", "--queue", "vcmdq");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(result.Out, Does.Contain("note: the host fix-up takes this opcode but would refuse it too: "
                + "NUM = SCALE = TTL = 0 with TG != 0 is Reserved"));
            Assert.That(Lines(result.Out)[^1], Does.EndWith("the queue stops with CERROR_ILL at entry 0"));
        });
    }

    [Test]
    public void Check_vcmdq_applies_the_smmu_legality_to_allowed_commands()
    {
        string input = Hex(B.CmdSync(3), B.AtcInv(0x10, 0, ssv: false, global: false, 0, 0));

        var result = Run(input, "check", "--queue", "vcmdq", "--features", "no-ats");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused));
            Assert.That(result.Out, Does.Contain("CMD_SYNC CS = 3 is Reserved").And.Contain("ATC_INV needs ATS"));
            Assert.That(result.Out, Does.Not.Contain("allow-list"));
        });
    }

    // ---- usage ----

    [TestCase(new[] { "frobnicate" }, "Unrecognized command or argument 'frobnicate'")]
    [TestCase(new[] { "decode", "--verbose" }, "unknown option '--verbose'")]
    [TestCase(new[] { "check", "--queue", "ecmdq" }, "unknown queue 'ecmdq'; use smmu, trap, vcmdq.")]
    [TestCase(new[] { "check", "--queue" }, "Required argument missing for option: '--queue'")]
    [TestCase(new[] { "check", "--ssid-bits", "21" }, "ssid-bits must be 0..20, not '21'")]
    [TestCase(new[] { "check", "--ssid-bits", "many" }, "ssid-bits must be 0..20, not 'many'")]
    [TestCase(new[] { "check", "--features", "ssid-bits=99" }, "ssid-bits must be 0..20, not '99'")]
    [TestCase(new[] { "check", "--features", "no-ats,warp" }, "unknown feature 'warp'")]
    [TestCase(new[] { "check", "--features", "no-s1,no-s2" }, "at least one stage")]
    [TestCase(new[] { "check", "--binary", "--commands" }, "give one")]
    [TestCase(new[] { "decode", "a.hex", "b.hex" }, "Unrecognized command or argument 'b.hex'")]
    [TestCase(new[] { "encode", "--binary" }, "needs -o FILE")]
    public void Bad_arguments_exit_2_and_say_why(string[] args, string message)
    {
        var result = Run(string.Empty, args);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain(message));
        });
    }

    [Test]
    public void A_missing_input_file_exits_2_naming_it()
    {
        string path = Path.Combine(_scratch, "absent.hex");

        var result = Run(string.Empty, "decode", path);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain(path).And.Contain("cannot read it"));
        });
    }

    [Test]
    public void No_arguments_print_the_usage_and_exit_2()
    {
        var result = RunProgram(string.Empty);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain("smmucmd [command] [options]").And.Contain("decode <FILE>").And.Contain("check <FILE>"));
        });
    }

    [TestCase("decode", "smmucmd decode [<FILE>] [options]")]
    [TestCase("encode", "smmucmd encode [<FILE>] [options]")]
    [TestCase("check", "smmucmd check [<FILE>] [options]")]
    public void Each_command_has_help(string command, string usage)
    {
        var viaOption = RunProgram(string.Empty, command, "--help");
        var viaHelp = RunProgram(string.Empty, "help", command);

        Assert.Multiple(() =>
        {
            Assert.That(viaOption.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), viaOption.Err);
            Assert.That(viaOption.Out, Does.Contain("Usage:\n  " + usage + "\n"));
            Assert.That(viaOption.Out, Does.Contain("Options:").And.Contain("Details:"));
            Assert.That(viaHelp.Out, Is.EqualTo(viaOption.Out));
        });
    }

    [Test]
    public void The_help_of_check_states_the_range_of_every_option_with_one()
    {
        var help = Run(string.Empty, "check", "--help");

        Assert.Multiple(() =>
        {
            Assert.That(help.Out, Does.Contain("-q, --queue <smmu|trap|vcmdq>"));
            Assert.That(help.Out, Does.Contain("--ssid-bits <0..20>"));
            Assert.That(help.Out, Does.Contain("ssid-bits=N (N = 0..20)"));
            Assert.That(help.Out, Does.Contain("Exit codes: 0 every entry accepted, 1 some entry refused, 2 usage or input error."));
        });
    }

    [Test]
    public void Version_prints_the_tool_version_and_exits_0()
    {
        var result = RunProgram(string.Empty, "--version");
        string expected = typeof(SmmuCmdTool).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(result.Out.Trim(), Is.EqualTo(expected));
        });
    }

    [TestCase("check --queue ", new[] { "smmu", "trap", "vcmdq" })]
    [TestCase("check --queue v", new[] { "vcmdq" })]
    [TestCase("check -f no-a", new[] { "no-ats" })]
    [TestCase("ch", new[] { "check" })]
    public void Tab_completion_answers_the_suggest_directive(string commandLine, string[] expected)
    {
        var result = Run(string.Empty, $"[suggest:{commandLine.Length}]", commandLine);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Err);
            Assert.That(Lines(result.Out), Is.EqualTo(expected));
        });
    }

    [Test]
    public void Encode_refuses_to_overwrite_its_own_input()
    {
        string path = Path.Combine(_scratch, "cmds.txt");
        File.WriteAllText(path, "TLBI_NSNH_ALL\n");

        var result = Run(string.Empty, "encode", path, "-o", Path.Combine(_scratch, ".", "cmds.txt"));

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain("is the input file; refusing to overwrite it"));
            Assert.That(File.ReadAllText(path), Is.EqualTo("TLBI_NSNH_ALL\n"));
        });
    }

    [Test]
    public void Messages_escape_the_non_printable_characters_of_the_input()
    {
        var result = Run("0x30 0\n\u001b[2J\u202eevil 0\n", "decode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain(@"'\x1b[2J\u{202e}evil' is not a hex number"));
            Assert.That(result.Err.Count(c => char.IsControl(c) && c != '\n' && c != '\r'), Is.Zero);
            Assert.That(result.Err.Contains('\u202e', StringComparison.Ordinal), Is.False, "no raw bidi override");
        });
    }

    [Test]
    public void Messages_cut_a_long_token_short()
    {
        var result = Run(new string('z', 100_000) + "\n", "decode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain("...' (100000 characters) is not a hex number"));
            Assert.That(result.Err.Length, Is.LessThan(300));
        });
    }

    [Test]
    public void A_line_longer_than_the_limit_is_an_input_error_not_a_bigger_buffer()
    {
        var result = Run(new string(' ', LineReader.MaxLineLength + 1) + "0x30 0\n", "decode");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitUsage));
            Assert.That(result.Err, Does.Contain($"line 1 is longer than {LineReader.MaxLineLength} characters"));
        });
    }

    // ---- the shipped examples, as the README uses them ----

    [Test]
    public void The_example_hex_file_is_the_encoding_of_the_example_commands()
    {
        string commands = RepositoryFiles.PathOf("samples/SmmuCmd/examples/cmds.txt");
        string hex = RepositoryFiles.PathOf("samples/SmmuCmd/examples/cmds.hex");

        var result = Run(string.Empty, "encode", commands);

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), result.Err);
            Assert.That(result.Out.ReplaceLineEndings("\n"), Is.EqualTo(File.ReadAllText(hex).ReplaceLineEndings("\n")));
        });
    }

    [Test]
    public void The_example_check_on_a_guest_vcmdq_refuses_only_what_the_host_fix_up_runs()
    {
        var result = RunProgram(string.Empty, "check", RepositoryFiles.PathOf("samples/SmmuCmd/examples/cmds.hex"), "--queue", "vcmdq");

        Assert.Multiple(() =>
        {
            Assert.That(result.Code, Is.EqualTo(SmmuCmdTool.ExitRefused), result.Err);
            Assert.That(Lines(result.Out)[0], Does.StartWith("4: CFGI_CD"));
            Assert.That(Lines(result.Out)[^1], Is.EqualTo("guest VCMDQ: 6 entries, 5 accepted, 1 refused (1 run by the host fix-up)"));
        });
    }

    [Test]
    public void The_help_examples_are_what_the_tool_prints()
    {
        var decode = Run("0x002a000100000012 0x0000000040001701\n", "decode");
        var encode = Run("TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1\n", "encode");
        var decodeHelp = Run(string.Empty, "decode", "--help");
        var encodeHelp = Run(string.Empty, "encode", "--help");

        Assert.Multiple(() =>
        {
            Assert.That(decodeHelp.Out, Does.Contain("  " + Lines(decode.Out)[0] + "\n"));
            Assert.That(encodeHelp.Out, Does.Contain("  " + Lines(encode.Out)[0] + "\n"));
        });
    }

    // ---- helpers ----

    /// <summary>Decodes <paramref name="command"/> with the tool, encodes the text back and compares the words.</summary>
    private static string AssertRoundTrip(SmmuCommand command, string head)
    {
        var decoded = Run(Hex(command), "decode");
        string[] lines = Lines(decoded.Out);
        Assert.That(decoded.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), decoded.Err);
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("0: " + head));

        var encoded = Run(lines[0][3..] + "\n", "encode");

        Assert.That(encoded.Code, Is.EqualTo(SmmuCmdTool.ExitSuccess), $"'{lines[0]}': {encoded.Err}");
        Assert.That(encoded.Out, Is.EqualTo(Hex(command)), lines[0]);
        return lines[0];
    }

    /// <summary>A command of <paramref name="opcode"/> with every field it has set to something non-zero.</summary>
    private static SmmuCommand Representative(SmmuOpcode opcode) => opcode switch
    {
        SmmuOpcode.PREFETCH_CONFIG => B.PrefetchConfig(0x1234, 0x56, ssv: true),
        SmmuOpcode.PREFETCH_ADDR => B.PrefetchAddr(0x1234, 0x56, ssv: true, 0x4000_3000, 7),
        SmmuOpcode.CFGI_STE => B.CfgiSte(0x77, leaf: true).WithSSec(true),
        SmmuOpcode.CFGI_STE_RANGE => B.CfgiSteRange(0x1000, 5),
        SmmuOpcode.CFGI_CD => B.CfgiCd(0x77, 0xABCDE, leaf: true),
        SmmuOpcode.CFGI_CD_ALL => B.CfgiCdAll(0x77),
        SmmuOpcode.CFGI_VMS_PIDM => B.CfgiVmsPidm(9),
        SmmuOpcode.TLBI_NH_ALL => B.TlbiNhAll(9),
        SmmuOpcode.TLBI_NH_ASID => B.TlbiNhAsid(9, 0x2a),
        SmmuOpcode.TLBI_NH_VA => B.TlbiNhVa(9, 0x2a, 0x4000_1000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 5, scale: 2),
        SmmuOpcode.TLBI_NH_VAA => B.TlbiNhVaa(9, 0xFFFF_8000_0000_0000, leaf: true, ttl: 2, tg: SmmuCommand.TG_64K, num: 31, scale: 31),
        SmmuOpcode.TLBI_EL3_ALL => B.TlbiEl3All(),
        SmmuOpcode.TLBI_EL3_VA => B.TlbiEl3Va(0x7000, leaf: true, ttl: 1, tg: SmmuCommand.TG_16K, num: 1, scale: 1),
        SmmuOpcode.TLBI_EL2_ALL => B.TlbiEl2All(),
        SmmuOpcode.TLBI_EL2_ASID => B.TlbiEl2Asid(0x2a),
        SmmuOpcode.TLBI_EL2_VA => B.TlbiEl2Va(0x2a, 0x9000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 1, scale: 3),
        SmmuOpcode.TLBI_EL2_VAA => B.TlbiEl2Vaa(0x9000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 1, scale: 3),
        SmmuOpcode.TLBI_S12_VMALL => B.TlbiS12Vmall(9),
        SmmuOpcode.TLBI_S2_IPA => B.TlbiS2Ipa(9, 0x0000_8765_4321_0000, leaf: true, ttl: 2, tg: SmmuCommand.TG_64K, num: 3, scale: 4),
        SmmuOpcode.TLBI_NSNH_ALL => B.TlbiNsnhAll(),
        SmmuOpcode.ATC_INV => B.AtcInv(0x10, 0x5, ssv: true, global: true, 0x8000_0000, 12),
        SmmuOpcode.PRI_RESP => B.PriResp(0x10, 0x5, ssv: true, 0x1FF, SmmuCommand.RESP_SUCCESS),
        SmmuOpcode.RESUME => B.Resume(0x10, 0xBEEF, ac: true, ab: true).WithSSec(true),
        SmmuOpcode.STALL_TERM => B.StallTerm(0x10),
        SmmuOpcode.CMD_SYNC => B.CmdSync(SmmuCommand.CS_SIG_IRQ, 0x0000_1234_5678_9ABC, 0xCAFE_F00D, SmmuCommand.MSH_ISH, SmmuCommand.MSIATTR_OIWB),
        SmmuOpcode.TLBI_S_EL2_ALL => B.TlbiSEl2All(),
        SmmuOpcode.TLBI_S_EL2_ASID => B.TlbiSEl2Asid(0x2a),
        SmmuOpcode.TLBI_S_EL2_VA => B.TlbiSEl2Va(0x2a, 0x9000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 1, scale: 3),
        SmmuOpcode.TLBI_S_EL2_VAA => B.TlbiSEl2Vaa(0x9000, leaf: true, ttl: 3, tg: SmmuCommand.TG_4K, num: 1, scale: 3),
        SmmuOpcode.TLBI_S_S12_VMALL => B.TlbiSS12Vmall(9),
        SmmuOpcode.TLBI_S_S2_IPA => B.TlbiSS2Ipa(9, 0x4000_0000, leaf: true, ttl: 2, tg: SmmuCommand.TG_16K, num: 2, scale: 2),
        SmmuOpcode.TLBI_SNH_ALL => B.TlbiSnhAll(),
        SmmuOpcode.DPTI_ALL => B.DptiAll(),
        SmmuOpcode.DPTI_PA => B.DptiPa(0x0000_00AB_CDEF_0000),
        _ => throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "Add a representative for the new opcode."),
    };

    private static string Hex(params SmmuCommand[] commands) => string.Concat(commands.Select(c =>
        string.Create(CultureInfo.InvariantCulture, $"0x{c.Word0:x16} 0x{c.Word1:x16}") + Environment.NewLine));

    private string WriteBinary(params SmmuCommand[] commands)
    {
        var bytes = new byte[commands.Length * 16];
        for (int i = 0; i < commands.Length; i++)
        {
            commands[i].Write(bytes.AsSpan(i * 16));
        }

        string path = Path.Combine(_scratch, "entries.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string[] Lines(string text) =>
        text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Runs the built program itself (<c>dotnet smmucmd.dll</c>), so its name and version are the real ones.</summary>
    private static (int Code, string Out, string Err) RunProgram(string stdin, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "smmucmd.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(60_000), Is.True, "smmucmd did not exit");
        return (process.ExitCode, stdout, stderr.Result);
    }

    private static (int Code, string Out, string Err) Run(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = SmmuCmdTool.Run(args, new StringReader(stdin), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
