using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Iommufd.Core.Diagnostics;

/// <summary>
/// Why a call was refused, in words: the errno trace. Where the core or a driver decides an errno, it returns
/// <c>Refusal.Because(Errno.EINVAL, $"iova 0x{iova:x} is not aligned to the IOAS's {alignment}")</c>; when the file's
/// logger has <see cref="LogLevel.Debug"/> on, that logs "IOMMU_IOAS_MAP: EINVAL, iova 0x10001 is not aligned to the
/// IOAS's 4096" (event 10, <c>Refused</c>). With it off the reason is never formatted: the site costs one
/// thread-local read.
/// </summary>
/// <remarks>
/// The command is the outermost call on the thread into an <see cref="IommufdFile"/> (a raw ioctl's kernel name,
/// else the typed method's name), so a refusal deep in a driver still names what the caller asked for.
/// </remarks>
public static partial class Refusal
{
    [ThreadStatic]
    private static Trace? t_trace;

    /// <summary>True while the call on this thread is traced: a reason would be logged.</summary>
    public static bool Wanted => t_trace is { Depth: > 0, Logger: not null };

    /// <summary>Returns <paramref name="errno"/>; logs <paramref name="reason"/> with it when the call is traced.</summary>
    public static Errno Because(Errno errno, ref ReasonHandler reason)
    {
        if (reason.Enabled && t_trace is { Logger: { } logger } trace)
        {
            // Only reached with Debug on (Enter keeps the logger only then).
            string name = IommufdMetrics.ErrnoName(errno), text = reason.ToStringAndClear();
            Refused(logger, trace.Command, name, text);
        }

        return errno;
    }

    /// <summary>Starts (or, nested, joins) the traced call of <paramref name="command"/> on this thread.</summary>
    internal static Scope Enter(ILogger logger, string command)
    {
        var trace = t_trace ??= new Trace();
        bool outermost = trace.Depth++ == 0;
        if (outermost)
        {
            trace.Logger = logger.IsEnabled(LogLevel.Debug) ? logger : null;
            trace.Command = command;
        }

        return new Scope(trace, outermost);
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "{Command}: {Errno}, {Reason}")]
    private static partial void Refused(ILogger logger, string command, string errno, string reason);

    /// <summary>The traced call's extent; disposing the outermost ends it.</summary>
    internal readonly ref struct Scope
    {
        private readonly Trace _trace;

        internal Scope(Trace trace, bool outermost)
        {
            _trace = trace;
            Outermost = outermost;
        }

        /// <summary>True for the call that began the trace (no call into a file was on the thread before it).</summary>
        public bool Outermost { get; }

        public void Dispose()
        {
            if (_trace is not null && --_trace.Depth == 0)
            {
                _trace.Logger = null;
            }
        }
    }

    internal sealed class Trace
    {
        public int Depth;
        public ILogger? Logger;
        public string Command = string.Empty;
    }

    /// <summary>Formats a reason only when the call is traced.</summary>
    [InterpolatedStringHandler]
    public ref struct ReasonHandler
    {
        private DefaultInterpolatedStringHandler _text;

        /// <summary>
        /// Called by the compiler for an interpolated reason; formats nothing (<paramref name="shouldAppend"/> false)
        /// unless refusals are being traced.
        /// </summary>
        public ReasonHandler(int literalLength, int formattedCount, out bool shouldAppend)
        {
            Enabled = shouldAppend = Wanted;
            _text = shouldAppend ? new DefaultInterpolatedStringHandler(literalLength, formattedCount, CultureInfo.InvariantCulture) : default;
        }

        /// <summary>True when the reason is being formatted.</summary>
        public bool Enabled { get; }

        /// <summary>Appends a literal part of the reason.</summary>
        public void AppendLiteral(string value) => _text.AppendLiteral(value);

        /// <summary>Appends a value of the reason, formatted with the invariant culture.</summary>
        public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

        /// <summary>
        /// Appends a value of the reason with a format string (<c>"x"</c> for hexadecimal), in the invariant culture.
        /// </summary>
        public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

        internal string ToStringAndClear() => _text.ToStringAndClear();
    }
}
