namespace Iommufd.Core.Ioas;

/// <summary>Pages of an IOAS pinned for a HW queue; disposing unpins them.</summary>
internal sealed class IoasPin : IDisposable
{
    private IoasObject? _ioas;
    private readonly List<IovaArea> _areas;

    public IoasPin(IoasObject ioas, List<IovaArea> areas)
    {
        _ioas = ioas;
        _areas = areas;
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _ioas, null)?.Unpin(_areas);
    }
}
