using Iommufd.ArmSmmuV3.Hardware;
using SmmuCmd;
using B = Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.Samples;

/// <summary>
/// <c>smmucmd</c> streams its input: a generated input of 100 MB (binary) or 1 M lines (hex text) goes through
/// check and decode while the tool allocates less than 1 MiB — the whole input held in memory
/// would be hundreds of megabytes. Allocation counts are deterministic, so they are asserted; time is not.
/// </summary>
public class SmmuCmdStreamingTests
{
    /// <summary>Parsing, the command tree, the checker's SMMU model and the read buffers; nothing per entry.</summary>
    private const long Budget = 1 << 20;

    [Test]
    public void Check_of_a_100_MB_binary_stream_allocates_a_bounded_amount()
    {
        const long Bytes = 100L << 20;
        var input = new GeneratedEntries(B.TlbiNhAsid(1, 0x2a), Bytes / SmmuCommandLayout.EntrySize);
        var stdout = new StringWriter();

        SmmuCmdTool.Run(["check", "--binary"], TextReader.Null, TextWriter.Null, TextWriter.Null,
            () => new GeneratedEntries(B.TlbiNhAsid(1, 0x2a), 1000), null); // first use: JIT, static tables
        long allocated = Measure(() => SmmuCmdTool.Run(["check", "--binary"], TextReader.Null, stdout, TextWriter.Null, () => input, null), out int code);

        TestContext.Out.WriteLine($"{Bytes} bytes checked, {allocated} bytes allocated");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(input.Served, Is.EqualTo(Bytes), "the whole stream was read");
            Assert.That(stdout.ToString().Trim(), Is.EqualTo($"smmu queue: {Bytes / 16} entries, all accepted"));
            Assert.That(allocated, Is.LessThan(Budget));
        });
    }

    [Test]
    public void Decode_of_a_million_hex_lines_allocates_a_bounded_amount()
    {
        const int Lines = 1 << 20;
        var input = new GeneratedHexLines("0x002a000100000011 0x0000000000000000\n", Lines);
        var output = new CountingWriter();

        SmmuCmdTool.Run(["decode"], new GeneratedHexLines("0x30 0\n", 1000), TextWriter.Null, TextWriter.Null); // first use
        long allocated = Measure(() => SmmuCmdTool.Run(["decode"], input, output, TextWriter.Null), out int code);

        TestContext.Out.WriteLine($"{Lines} lines decoded, {allocated} bytes allocated");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(SmmuCmdTool.ExitSuccess));
            Assert.That(output.Lines, Is.EqualTo(Lines));
            Assert.That(allocated, Is.LessThan(Budget));
        });
    }

    private static long Measure(Func<int> run, out int code)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        code = run();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>A read-only stream of one command repeated, made on the fly (nothing behind it in memory).</summary>
    private sealed class GeneratedEntries(SmmuCommand command, long count) : Stream
    {
        private readonly long _length = count * SmmuCommandLayout.EntrySize;

        public long Served { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => Served; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = 0;
            while (n < buffer.Length && Served < _length)
            {
                int inEntry = (int)(Served % SmmuCommandLayout.EntrySize);
                ulong word = inEntry < 8 ? command.Word0 : command.Word1;
                buffer[n++] = (byte)(word >> (8 * (inEntry % 8)));
                Served++;
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A text reader that serves one line again and again.</summary>
    private sealed class GeneratedHexLines(string line, int count) : TextReader
    {
        private long _position;

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            long end = (long)line.Length * count;
            int n = 0;
            while (n < buffer.Length && _position < end)
            {
                buffer[n++] = line[(int)(_position++ % line.Length)];
            }

            return n;
        }
    }

    /// <summary>Counts the lines written and keeps none of them.</summary>
    private sealed class CountingWriter : TextWriter
    {
        public int Lines { get; private set; }

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => Lines += value == '\n' ? 1 : 0;

        public override void Write(ReadOnlySpan<char> buffer) => Lines += buffer.Count('\n');

        public override void WriteLine(ReadOnlySpan<char> buffer) => Lines++;
    }
}
