namespace Iommufd.Core.Objects;

/// <summary>
/// An object in an iommufd file's table. The reference rules are the kernel's and are written down on
/// <see cref="ObjectTable"/>: <see cref="Users"/> counts the table's own reference, every object or handle that
/// depends on this one (a nested HWPT on its parent, a vDEVICE on its vIOMMU, an open fd, a live mmap) and every
/// ioctl using it right now; <see cref="ShortTermUsers"/> counts only the ioctls using it right now.
/// </summary>
public abstract class IommufdObject
{
    private int _users;
    private int _shortTermUsers;
    private int _state; // an ObjectState

    /// <summary>The object's ID in its file (from 1); 0 until the object is added to the table.</summary>
    public uint Id { get; internal set; }

    /// <summary>The object's kind.</summary>
    public abstract IommufdObjectType Type { get; }

    internal int Users => Volatile.Read(ref _users);

    internal int ShortTermUsers => Volatile.Read(ref _shortTermUsers);

    internal ObjectState State => (ObjectState)Volatile.Read(ref _state);

    /// <summary>
    /// False for objects that IOMMU_DESTROY may not remove directly (a bound device is removed by unbinding).
    /// </summary>
    internal virtual bool DestroyableByUser => true;

    /// <summary>
    /// A lock that the creation of this object's dependents runs under and that its destruction must take too, so
    /// that a dependent is never made on an object already claimed for destruction (HW queues: the vIOMMU's queue
    /// lock, under which a driver links a new queue to the previous one). Null for most objects.
    /// </summary>
    internal virtual Lock? DestroyGate => null;

    /// <summary>
    /// Takes a user reference for a dependent. The caller must already hold a reference (a lookup, or the
    /// creation of the object itself): taking one on an object nobody holds is a broken invariant.
    /// </summary>
    internal void AddUser()
    {
        if (State is ObjectState.Dying or ObjectState.Destroyed)
        {
            throw new InvalidOperationException($"{Type} {Id}: a user reference was taken on an object being destroyed");
        }

        Interlocked.Increment(ref _users);
    }

    /// <summary>
    /// Takes a user reference unless the object has none left (it was claimed for destruction): the kernel's
    /// <c>refcount_inc_not_zero</c>, for holders that found the object somewhere other than the table.
    /// </summary>
    internal bool TryAddUser()
    {
        int users = Volatile.Read(ref _users);
        while (users > 0)
        {
            int seen = Interlocked.CompareExchange(ref _users, users + 1, users);
            if (seen == users)
            {
                return true;
            }

            users = seen;
        }

        return false;
    }

    internal void RemoveUser()
    {
        if (Interlocked.Decrement(ref _users) < 0)
        {
            throw new InvalidOperationException($"{Type} {Id}: user count went below zero");
        }
    }

    /// <summary>A lookup's reference (the kernel's <c>iommufd_lock_obj</c>); the table calls it under its lock.</summary>
    internal bool TryLock()
    {
        if (State != ObjectState.Live || !TryAddUser())
        {
            return false;
        }

        Interlocked.Increment(ref _shortTermUsers);
        return true;
    }

    /// <summary>
    /// Drops a lookup's reference (the kernel's <c>iommufd_put_object</c>): users first, then the short-term
    /// count, so that a destroyer waiting for short-term users to drain never sees a stale user.
    /// </summary>
    internal void Unlock()
    {
        RemoveUser();
        Interlocked.Decrement(ref _shortTermUsers);
    }

    /// <summary>Claims the object for destruction when only the table's reference is left (users 1 → 0).</summary>
    internal bool TryClaim()
    {
        if (State != ObjectState.Live || Interlocked.CompareExchange(ref _users, 0, 1) != 1)
        {
            return false;
        }

        Volatile.Write(ref _state, (int)ObjectState.Dying);
        return true;
    }

    internal void SetState(ObjectState state) => Volatile.Write(ref _state, (int)state);

    /// <summary>
    /// Releases what the object holds (driver state, references on other objects). Called exactly once, after
    /// the object left the table and nobody uses it.
    /// </summary>
    internal abstract void Destroy();
}
