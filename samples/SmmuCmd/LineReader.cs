namespace SmmuCmd;

/// <summary>
/// Reads text one line at a time into one reusable buffer, so a long input costs no more memory than its longest
/// line and no string per line. Lines end at <c>\n</c>; a <c>\r</c> before it is dropped.
/// </summary>
internal sealed class LineReader(TextReader reader)
{
    /// <summary>The longest line accepted, in characters; a longer one is an input error, not a bigger buffer.</summary>
    public const int MaxLineLength = 1 << 20;

    private char[] _buffer = new char[16 * 1024];
    private int _start;
    private int _end;
    private bool _atEnd;

    /// <summary>The 1-based number of the line last returned.</summary>
    public int LineNumber { get; private set; }

    /// <summary>
    /// The next line, valid until the next call. False at the end of the input, or with <paramref name="error"/> set
    /// when a line is longer than <see cref="MaxLineLength"/>.
    /// </summary>
    public bool TryReadLine(out ReadOnlySpan<char> line, out string error)
    {
        error = string.Empty;
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf('\n');
            if (newline >= 0)
            {
                line = Take(newline, newline + 1);
                return true;
            }

            if (_atEnd)
            {
                if (_start == _end)
                {
                    line = default;
                    return false;
                }

                line = Take(_end - _start, _end - _start);
                return true;
            }

            Fill();
            if (_end - _start > MaxLineLength)
            {
                error = $"line {LineNumber + 1} is longer than {MaxLineLength} characters.";
                line = default;
                return false;
            }
        }
    }

    private ReadOnlySpan<char> Take(int length, int consumed)
    {
        ReadOnlySpan<char> line = _buffer.AsSpan(_start, length);
        if (!line.IsEmpty && line[^1] == '\r')
        {
            line = line[..^1];
        }

        _start += consumed;
        LineNumber++;
        return line;
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineLength + 1));
            if (_end == _buffer.Length)
            {
                return; // full at the limit with no newline: the caller reports the long line
            }
        }

        int read = reader.Read(_buffer, _end, _buffer.Length - _end);
        _atEnd = read == 0;
        _end += read;
    }
}
