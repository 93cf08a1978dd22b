namespace Iommufd.Core.Objects;

/// <summary>
/// A lookup's hold on an object, dropped by <see cref="Dispose"/>: a reference (user + short-term), or for a marked
/// lookup (<see cref="ObjectTable.GetMarked{T}"/>) the thread's mark.
/// </summary>
internal readonly struct ObjectRef<T> : IDisposable
    where T : IommufdObject
{
    private readonly CallMarks.Mark? _mark;

    public ObjectRef(T obj, CallMarks.Mark? mark = null)
    {
        Object = obj;
        _mark = mark;
    }

    public T Object { get; }

    public void Dispose()
    {
        if (_mark is not null)
        {
            CallMarks.ExitObject(_mark);
        }
        else
        {
            Object?.Unlock();
        }
    }
}
