namespace Iommufd.Core.Objects;

/// <summary>A lookup's reference on an object (user + short-term), dropped by <see cref="Dispose"/>.</summary>
internal readonly struct ObjectRef<T> : IDisposable
    where T : IommufdObject
{
    public ObjectRef(T obj) => Object = obj;

    public T Object { get; }

    public void Dispose() => Object?.Unlock();
}
