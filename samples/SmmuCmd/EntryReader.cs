using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>Receives each entry as it is read, with the line it started on (0 for binary input).</summary>
internal delegate void EntrySink(in SmmuCommand command, int line);

/// <summary>
/// Reads a stream of command-queue entries in one of three forms — hex words, raw little-endian bytes, or the
/// decoder's one-line text form — and hands each entry to a sink as soon as it is complete, so memory stays
/// bounded whatever the input's length. Each reader returns false with an error naming the line (or byte offset)
/// and what is wrong; nothing here throws for bad input. Entries before the error have been handed on.
/// </summary>
internal static class EntryReader
{
    private const int WordDigits = 16;
    private const int EntryDigits = 32;
    private const int BinaryChunk = 64 * 1024;

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>
    /// Hex text: tokens separated by white space, each with an optional <c>0x</c>. A token of up to 16 digits is
    /// one 64-bit word, and consecutive words pair up as w0 then w1 (a pair may span lines; the entry counts from
    /// the line of its w0). A 32-digit token is a whole entry as one 128-bit number, bits [127:0], so its first 16
    /// digits are w1. <c>#</c> starts a comment that runs to the end of the line.
    /// </summary>
    public static bool TryReadHex(TextReader reader, EntrySink sink, out string error)
    {
        var lines = new LineReader(reader);
        ulong pendingWord = 0;
        int pendingLine = 0; // 0: no lone w0 waiting for its w1
        while (lines.TryReadLine(out ReadOnlySpan<char> line, out error))
        {
            int lineNumber = lines.LineNumber;
            ReadOnlySpan<char> rest = StripComment(line);
            for (ReadOnlySpan<char> token = NextToken(ref rest); !token.IsEmpty; token = NextToken(ref rest))
            {
                ReadOnlySpan<char> digits = token.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? token[2..] : token;
                if (digits.IsEmpty || digits.ContainsAnyExcept(HexDigits))
                {
                    error = $"line {lineNumber}: {MessageText.Quote(token)} is not a hex number.";
                    return false;
                }

                if (digits.Length <= WordDigits)
                {
                    ulong word = ulong.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                    if (pendingLine == 0)
                    {
                        pendingWord = word;
                        pendingLine = lineNumber;
                    }
                    else
                    {
                        sink(new SmmuCommand(pendingWord, word), pendingLine);
                        pendingLine = 0;
                    }

                    continue;
                }

                if (digits.Length != EntryDigits)
                {
                    error = $"line {lineNumber}: {MessageText.Quote(token)} has {digits.Length} hex digits; "
                        + $"a word has at most {WordDigits} and a whole entry {EntryDigits}.";
                    return false;
                }

                if (pendingLine != 0)
                {
                    error = $"line {lineNumber}: a whole entry {MessageText.Quote(token)} follows the lone word "
                        + $"0x{pendingWord:x16} from line {pendingLine}, which has no w1.";
                    return false;
                }

                UInt128 value = UInt128.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                sink(new SmmuCommand((ulong)value, (ulong)(value >> 64)), lineNumber);
            }
        }

        if (error.Length > 0)
        {
            return false;
        }

        if (pendingLine != 0)
        {
            error = $"line {pendingLine}: the word 0x{pendingWord:x16} has no w1; entries are pairs of words w0 w1.";
            return false;
        }

        return true;
    }

    /// <summary>
    /// Raw bytes: consecutive 16-byte little-endian entries, as they sit in queue memory, read in 64 KiB chunks.
    /// A seekable stream whose length is not a whole number of entries is refused before any entry is handed on.
    /// </summary>
    public static bool TryReadBinary(Stream stream, EntrySink sink, out string error)
    {
        const int Size = SmmuCommandLayout.EntrySize;
        if (stream.CanSeek && (stream.Length - stream.Position) % Size != 0)
        {
            return LeftOver(stream.Length - stream.Position, out error);
        }

        byte[] buffer = new byte[BinaryChunk];
        int filled = 0;
        long total = 0;
        for (int read; (read = stream.Read(buffer, filled, buffer.Length - filled)) > 0;)
        {
            filled += read;
            total += read;
            int whole = filled / Size * Size;
            for (int offset = 0; offset < whole; offset += Size)
            {
                sink(new SmmuCommand(
                    BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset)),
                    BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset + 8))), 0);
            }

            buffer.AsSpan(whole, filled - whole).CopyTo(buffer);
            filled -= whole;
        }

        if (filled != 0)
        {
            return LeftOver(total, out error);
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// The decoder's text form, one command per line (<see cref="SmmuCommandDecoder.TryParse(ReadOnlySpan{char}, out SmmuCommand, out string)"/>).
    /// Blank lines and <c>#</c> comments are skipped, and a leading <c>N:</c> index, as <c>smmucmd decode</c>
    /// prints it, is ignored, so decode output can be edited and encoded again.
    /// </summary>
    public static bool TryReadCommands(TextReader reader, EntrySink sink, out string error)
    {
        var lines = new LineReader(reader);
        while (lines.TryReadLine(out ReadOnlySpan<char> line, out error))
        {
            ReadOnlySpan<char> text = SkipIndex(StripComment(line).Trim());
            if (text.IsEmpty)
            {
                continue;
            }

            if (!SmmuCommandDecoder.TryParse(text, out SmmuCommand command, out string reason))
            {
                error = $"line {lines.LineNumber}: {reason}";
                return false;
            }

            sink(command, lines.LineNumber);
        }

        return error.Length == 0;
    }

    private static bool LeftOver(long length, out string error)
    {
        long whole = length / SmmuCommandLayout.EntrySize * SmmuCommandLayout.EntrySize;
        error = $"byte {whole}: the input is {length} bytes, not a whole number of "
            + $"{SmmuCommandLayout.EntrySize}-byte entries ({length - whole} bytes left over).";
        return false;
    }

    private static ReadOnlySpan<char> StripComment(ReadOnlySpan<char> line)
    {
        int hash = line.IndexOf('#');
        return hash < 0 ? line : line[..hash];
    }

    /// <summary>Drops a leading <c>N:</c> (decimal digits and a colon, then white space or nothing).</summary>
    private static ReadOnlySpan<char> SkipIndex(ReadOnlySpan<char> text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0 || text[..colon].ContainsAnyExceptInRange('0', '9')
            || (colon + 1 < text.Length && !char.IsWhiteSpace(text[colon + 1])))
        {
            return text;
        }

        return text[(colon + 1)..].TrimStart();
    }

    private static ReadOnlySpan<char> NextToken(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart();
        int end = 0;
        while (end < rest.Length && !char.IsWhiteSpace(rest[end]))
        {
            end++;
        }

        ReadOnlySpan<char> token = rest[..end];
        rest = rest[end..];
        return token;
    }
}
