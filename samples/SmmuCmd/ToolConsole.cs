namespace SmmuCmd;

/// <summary>
/// The standard streams of one run: text readers and writers, plus the raw byte streams that binary input and
/// output need (a <see cref="TextReader"/> cannot carry arbitrary bytes). The byte streams are opened only when
/// asked for, and may be absent in tests.
/// </summary>
internal sealed class ToolConsole(
    TextReader stdin, TextWriter stdout, TextWriter stderr, Func<Stream>? openStdin, Func<Stream>? openStdout)
{
    public TextReader In { get; } = stdin;

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    public Func<Stream>? OpenStdin { get; } = openStdin;

    public Func<Stream>? OpenStdout { get; } = openStdout;
}
