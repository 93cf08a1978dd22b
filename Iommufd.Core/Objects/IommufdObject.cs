namespace Iommufd.Core.Objects;

/// <summary>
/// An object in an iommufd file's table. The reference rules are the kernel's and are written down on
/// <see cref="ObjectTable"/>: <see cref="Users"/> counts the table's own reference, every object or handle that
/// depends on this one (a nested HWPT on its parent, a vDEVICE on its vIOMMU, an open fd, a live mmap) and every
/// ioctl using it right now; <see cref="ShortTermUsers"/> counts only the ioctls using it right now.
/// </summary>
public abstract class IommufdObject
{
    // Users (low 32 bits) and short-term users (high 32 bits) in one word, so a lookup takes both in one
    // compare-and-swap and its release drops both in one add (main.c iommufd_lock_obj / iommufd_put_object).
    private const long OneShortTerm = 1L << 32;
    private long _counts;
    private int _state; // an ObjectState

    /// <summary>The object's ID in its file (from 1); 0 until the object is added to the table.</summary>
    public uint Id { get; internal set; }

    /// <summary>The object's kind.</summary>
    public abstract IommufdObjectType Type { get; }

    internal int Users => (int)Volatile.Read(ref _counts);

    internal int ShortTermUsers => (int)(Volatile.Read(ref _counts) >> 32);

    internal ObjectState State => (ObjectState)Volatile.Read(ref _state);

    /// <summary>
    /// False for objects that IOMMU_DESTROY may not remove directly (a bound device is removed by unbinding).
    /// </summary>
    internal virtual bool DestroyableByUser => true;

    /// <summary>
    /// True for the objects a call may use through a marked lookup (<see cref="ObjectTable.GetMarked{T}"/>, the targets
    /// of IOMMU_HWPT_INVALIDATE): destroying one waits for the marks on it.
    /// </summary>
    internal virtual bool TakesMarkedLookups => false;

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

        Interlocked.Increment(ref _counts);
    }

    /// <summary>
    /// Takes a user reference unless the object has none left (it was claimed for destruction): the kernel's
    /// <c>refcount_inc_not_zero</c>, for holders that found the object somewhere other than the table.
    /// </summary>
    internal bool TryAddUser() => TryAdd(1);

    internal void RemoveUser()
    {
        if ((int)Interlocked.Decrement(ref _counts) < 0)
        {
            throw new InvalidOperationException($"{Type} {Id}: user count went below zero");
        }
    }

    /// <summary>
    /// A lookup's reference (the kernel's <c>iommufd_lock_obj</c>): a user and a short-term user in one
    /// compare-and-swap, unless the object has no user left. The table calls it without a lock, so the state is read
    /// again after the compare-and-swap (a full fence): a removal by the core marks the object Dying (also a full
    /// fence) before it reads the short-term count, so either it sees this reference and waits for it, or this
    /// lookup sees Dying and lets go.
    /// </summary>
    internal bool TryLock()
    {
        if (State != ObjectState.Live || !TryAdd(1 + OneShortTerm))
        {
            return false;
        }

        if (State != ObjectState.Live)
        {
            Unlock();
            return false;
        }

        return true;
    }

    /// <summary>
    /// Drops a lookup's reference (the kernel's <c>iommufd_put_object</c>): the user and the short-term user in one
    /// add, so a destroyer that sees the short-term count drained never sees a stale user.
    /// </summary>
    internal void Unlock()
    {
        if ((int)Interlocked.Add(ref _counts, -(1 + OneShortTerm)) < 0)
        {
            throw new InvalidOperationException($"{Type} {Id}: user count went below zero");
        }
    }

    /// <summary>Claims the object for destruction when only the table's reference is left (users 1 → 0).</summary>
    internal bool TryClaim()
    {
        if (State != ObjectState.Live)
        {
            return false;
        }

        long counts = Volatile.Read(ref _counts);
        while ((int)counts == 1)
        {
            long seen = Interlocked.CompareExchange(ref _counts, counts - 1, counts);
            if (seen == counts)
            {
                Volatile.Write(ref _state, (int)ObjectState.Dying);
                return true;
            }

            counts = seen; // a short-term user came or went with its user: look at the users again
        }

        return false;
    }

    /// <summary>Sets the state with a full fence, which lock-free lookups rely on (see <see cref="TryLock"/>).</summary>
    internal void SetState(ObjectState state) => Interlocked.Exchange(ref _state, (int)state);

    /// <summary>Adds <paramref name="delta"/> unless no user is left (<c>refcount_inc_not_zero</c>).</summary>
    private bool TryAdd(long delta)
    {
        long counts = Volatile.Read(ref _counts);
        while ((int)counts > 0)
        {
            long seen = Interlocked.CompareExchange(ref _counts, counts + delta, counts);
            if (seen == counts)
            {
                return true;
            }

            counts = seen;
        }

        return false;
    }

    /// <summary>
    /// Releases what the object holds (driver state, references on other objects). Called exactly once, after
    /// the object left the table and nobody uses it.
    /// </summary>
    internal abstract void Destroy();
}
