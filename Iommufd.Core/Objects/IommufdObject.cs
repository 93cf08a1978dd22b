namespace Iommufd.Core.Objects;

/// <summary>
/// An object in an iommufd file's table. <see cref="Users"/> counts the objects and handles that depend on it
/// (a nested HWPT on its parent, a vDEVICE on its vIOMMU, an open fd, a live mmap): while it is non-zero
/// IOMMU_DESTROY answers EBUSY. <see cref="ShortTermUsers"/> counts ioctls that are using the object right now.
/// </summary>
public abstract class IommufdObject
{
    private int _users;
    private int _shortTermUsers;

    /// <summary>The object's ID in its file (from 1); 0 until the object is added to the table.</summary>
    public uint Id { get; internal set; }

    /// <summary>The object's kind.</summary>
    public abstract IommufdObjectType Type { get; }

    internal int Users => Volatile.Read(ref _users);

    internal int ShortTermUsers => Volatile.Read(ref _shortTermUsers);

    /// <summary>
    /// False for objects that IOMMU_DESTROY may not remove directly (a bound device is removed by unbinding).
    /// </summary>
    internal virtual bool DestroyableByUser => true;

    internal void AddUser() => Interlocked.Increment(ref _users);

    internal void RemoveUser()
    {
        if (Interlocked.Decrement(ref _users) < 0)
        {
            throw new InvalidOperationException($"{Type} {Id}: user count went below zero");
        }
    }

    internal void AddShortTermUser() => Interlocked.Increment(ref _shortTermUsers);

    internal void RemoveShortTermUser() => Interlocked.Decrement(ref _shortTermUsers);

    /// <summary>
    /// Releases what the object holds (driver state, references on other objects). Called exactly once, after
    /// the object left the table and nobody uses it.
    /// </summary>
    internal abstract void Destroy();
}
