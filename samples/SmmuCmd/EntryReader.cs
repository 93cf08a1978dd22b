using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>
/// Reads a stream of command-queue entries in one of three forms: hex words, raw little-endian bytes, or the
/// decoder's one-line text form. Each reader returns false with an error naming the line (or byte offset) and
/// what is wrong; nothing here throws for bad input.
/// </summary>
internal static class EntryReader
{
    private const int WordDigits = 16;
    private const int EntryDigits = 32;

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>
    /// Hex text: tokens separated by white space, each with an optional <c>0x</c>. A token of up to 16 digits is
    /// one 64-bit word, and consecutive words pair up as w0 then w1 (a pair may span lines; the entry counts from
    /// the line of its w0). A 32-digit token is a whole entry as one 128-bit number, bits [127:0], so its first 16
    /// digits are w1. <c>#</c> starts a comment that runs to the end of the line.
    /// </summary>
    public static bool TryReadHex(TextReader reader, List<SourceEntry> entries, out string error)
    {
        int lineNumber = 0;
        ulong pendingWord = 0;
        int pendingLine = 0; // 0: no lone w0 waiting for its w1
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            ReadOnlySpan<char> rest = StripComment(line);
            for (ReadOnlySpan<char> token = NextToken(ref rest); !token.IsEmpty; token = NextToken(ref rest))
            {
                ReadOnlySpan<char> digits = token.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? token[2..] : token;
                if (digits.IsEmpty || digits.ContainsAnyExcept(HexDigits))
                {
                    error = $"line {lineNumber}: '{token}' is not a hex number.";
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
                        entries.Add(new SourceEntry(new SmmuCommand(pendingWord, word), pendingLine));
                        pendingLine = 0;
                    }

                    continue;
                }

                if (digits.Length != EntryDigits)
                {
                    error = $"line {lineNumber}: '{token}' has {digits.Length} hex digits; "
                        + $"a word has at most {WordDigits} and a whole entry {EntryDigits}.";
                    return false;
                }

                if (pendingLine != 0)
                {
                    error = $"line {lineNumber}: a whole entry '{token}' follows the lone word 0x{pendingWord:x16} "
                        + $"from line {pendingLine}, which has no w1.";
                    return false;
                }

                UInt128 value = UInt128.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                entries.Add(new SourceEntry(new SmmuCommand((ulong)value, (ulong)(value >> 64)), lineNumber));
            }
        }

        if (pendingLine != 0)
        {
            error = $"line {pendingLine}: the word 0x{pendingWord:x16} has no w1; entries are pairs of words w0 w1.";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>Raw bytes: consecutive 16-byte little-endian entries, as they sit in queue memory.</summary>
    public static bool TryReadBinary(Stream stream, List<SourceEntry> entries, out string error)
    {
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        ReadOnlySpan<byte> data = bytes.GetBuffer().AsSpan(0, (int)bytes.Length);
        int whole = data.Length / SmmuCommandLayout.EntrySize * SmmuCommandLayout.EntrySize;
        if (whole != data.Length)
        {
            error = $"byte {whole}: the input is {data.Length} bytes, not a whole number of "
                + $"{SmmuCommandLayout.EntrySize}-byte entries ({data.Length - whole} bytes left over).";
            return false;
        }

        for (int offset = 0; offset < data.Length; offset += SmmuCommandLayout.EntrySize)
        {
            entries.Add(new SourceEntry(
                new SmmuCommand(
                    BinaryPrimitives.ReadUInt64LittleEndian(data[offset..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(data[(offset + 8)..])),
                0));
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// The decoder's text form, one command per line (<see cref="SmmuCommandDecoder.TryParse(ReadOnlySpan{char}, out SmmuCommand, out string)"/>).
    /// Blank lines and <c>#</c> comments are skipped, and a leading <c>N:</c> index, as <c>smmucmd decode</c>
    /// prints it, is ignored, so decode output can be edited and encoded again.
    /// </summary>
    public static bool TryReadCommands(TextReader reader, List<SourceEntry> entries, out string error)
    {
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            ReadOnlySpan<char> text = StripComment(line).Trim();
            text = SkipIndex(text);
            if (text.IsEmpty)
            {
                continue;
            }

            if (!SmmuCommandDecoder.TryParse(text, out SmmuCommand command, out string reason))
            {
                error = $"line {lineNumber}: {reason}";
                return false;
            }

            entries.Add(new SourceEntry(command, lineNumber));
        }

        error = string.Empty;
        return true;
    }

    private static ReadOnlySpan<char> StripComment(string line)
    {
        int hash = line.IndexOf('#', StringComparison.Ordinal);
        return hash < 0 ? line : line.AsSpan(0, hash);
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
