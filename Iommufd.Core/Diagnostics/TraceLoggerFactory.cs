using Microsoft.Extensions.Logging;

namespace Iommufd.Core.Diagnostics;

/// <summary>
/// A minimal logger factory that writes one line per message to a <see cref="TextWriter"/> ("debug Iommufd.Core.IommufdFile:
/// IOMMU_IOAS_MAP: EINVAL, ..."): what the samples' <c>--verbose</c> and the native library's <c>IOMMUFD_TRACE</c> turn
/// on, without a logging framework. A host that has one registers its own <see cref="ILoggerFactory"/> instead.
/// </summary>
public sealed class TraceLoggerFactory : ILoggerFactory
{
    private readonly Lock _lock = new(); // guards writes to _writer, so lines never interleave
    private readonly TextWriter _writer;
    private readonly LogLevel _minimum;

    /// <summary>
    /// A factory whose loggers write messages at <paramref name="minimum"/> or above to <paramref name="writer"/>.
    /// </summary>
    public TraceLoggerFactory(TextWriter writer, LogLevel minimum = LogLevel.Debug)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _minimum = minimum;
    }

    /// <summary>
    /// A logger that writes through this factory's writer, each line prefixed with the level and <paramref
    /// name="categoryName"/>.
    /// </summary>
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Providers are not used: this factory is its own sink.</summary>
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <summary>Does nothing: the writer belongs to the caller.</summary>
    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        lock (_lock)
        {
            _writer.WriteLine($"{Name(level)} {category}: {message}");
            if (exception is not null)
            {
                _writer.WriteLine(exception);
            }

            _writer.Flush();
        }
    }

    private static string Name(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "crit",
    };

    private sealed class Logger(TraceLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (IsEnabled(logLevel))
            {
                factory.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
