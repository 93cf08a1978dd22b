namespace Iommufd.Core.Ioas;

/// <summary>Pages of an IOAS pinned for a HW queue; disposing unpins them.</summary>
internal sealed class IoasPin : IDisposable
{
    private IoasObject? _ioas;
    private readonly List<IovaArea> _areas;
    private readonly ulong _first;
    private readonly ulong _last;

    public IoasPin(IoasObject ioas, List<IovaArea> areas, ulong first, ulong last)
    {
        _ioas = ioas;
        _areas = areas;
        _first = first;
        _last = last;
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _ioas, null)?.Unpin(_areas, _first, _last);
    }
}
