namespace Iommufd.Core.Objects;

/// <summary>A short-term reference on an object, taken by a lookup and dropped by <see cref="Dispose"/>.</summary>
internal readonly struct ObjectRef<T> : IDisposable
    where T : IommufdObject
{
    public ObjectRef(T obj) => Object = obj;

    public T Object { get; }

    public void Dispose() => Object?.RemoveShortTermUser();
}
