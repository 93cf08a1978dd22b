using Iommufd.Core.Diagnostics;
namespace Iommufd.Core.Objects;

/// <summary>
/// The ID → object table of one iommufd file (the kernel's <c>ictx->objects</c> xarray). IDs start at 1 and the
/// lowest free ID is reused. Safe for concurrent ioctls.
/// </summary>
/// <remarks>
/// <para>
/// The lifetime rules every object kind follows, after drivers/iommu/iommufd/main.c and device.c:
/// </para>
/// <list type="number">
/// <item><description>
/// <b>Users.</b> An object's users count is the table's own reference (taken by <see cref="Add"/>, as
/// <c>iommufd_object_finalize</c> publishes an object with one), plus one per dependent (a HWPT on its IOAS, a
/// nested HWPT on its parent or vIOMMU, a vDEVICE on its vIOMMU and device, a vEVENTQ or HW queue on its vIOMMU, a
/// HW queue on the queue before it, a device's attachment on its HWPT, an open fd, a live mmap, a bound device's
/// binding), plus one per lookup in flight. A dependent takes its reference while its creator still holds a lookup
/// of the object, so it never revives an object being destroyed (<see cref="IommufdObject.AddUser"/> checks this).
/// Holders that found an object elsewhere than the table (the mmap registry) use the kernel's
/// <c>refcount_inc_not_zero</c> (<see cref="IommufdObject.TryAddUser"/>).
/// </description></item>
/// <item><description>
/// <b>Short-term users.</b> A lookup (<see cref="Get{T}"/>, the kernel's <c>iommufd_get_object</c> /
/// <c>iommufd_lock_obj</c>) takes a user and a short-term reference in one compare-and-swap, without the table lock;
/// disposing the handle (<c>iommufd_put_object</c>) drops both in one add. The short-term count is
/// what a destroyer waits for (the kernel's <c>destroy_wait</c>): once it is zero no ioctl is inside the object.
/// IOMMU_HWPT_INVALIDATE, which only uses its vIOMMU or nested HWPT while it runs, looks it up by the thread's mark
/// instead (<see cref="GetMarked{T}"/>): no reference, so a racing destroy claims the object and then waits for the
/// marks on it as for short-term users, rather than answering EBUSY.
/// </description></item>
/// <item><description>
/// <b>Destroy.</b> IOMMU_DESTROY (<see cref="Destroy(uint, IommufdObjectType?)"/>, <c>iommufd_object_remove</c>
/// without a caller reference) claims the object only when the table's reference is the only one (users 1 → 0 under
/// the table lock, the kernel's <c>refcount_dec_if_one</c>); otherwise the answer is EBUSY — also when the
/// "other user" is an ioctl using the object right now, as in the kernel. Once claimed the ID is free, lookups fail
/// (ENOENT), the destroyer waits for racing handle drops to finish and then runs the object's destroy exactly once.
/// A missing ID, a tombstone or an object already claimed is ENOENT.
/// </description></item>
/// <item><description>
/// <b>Removal by the core.</b> Objects the core destroys on its own go one of two ways. An automatic domain the last
/// device detached from, or an object whose set-up failed, is destroyed only if nobody else holds it
/// (<see cref="TryClaim"/>, the kernel's <c>iommufd_object_put_and_try_destroy</c>); otherwise it stays for a later
/// IOMMU_DESTROY or close. A device being unbound and its vDEVICE are removed whatever their users
/// (<see cref="BeginRemove"/> / <see cref="FinishRemove"/>, <c>iommufd_object_remove</c> with
/// <c>REMOVE_WAIT_SHORTTERM</c>, as <c>iommufd_device_unbind</c> does): lookups fail from the first step, in-flight
/// ioctls drain, the core undoes the object's dependents itself, and a vDEVICE leaves a tombstone.
/// </description></item>
/// <item><description>
/// <b>Tombstones.</b> A vDEVICE destroyed by an unbind leaves its ID taken (the kernel stores
/// <c>XA_ZERO_ENTRY</c>, <c>iommufd_object_tombstone_user</c>): lookups and IOMMU_DESTROY answer ENOENT and the ID is
/// not reused until the file is closed, so a VMM never names a new object by a stale ID.
/// </description></item>
/// <item><description>
/// <b>Close.</b> <see cref="DestroyAll"/> (<c>iommufd_fops_release</c>) repeatedly destroys every object whose only
/// user is the table, which peels the dependency graph from its leaves. The file first makes new calls fail with
/// EBADF and waits for calls in flight, so nothing races it.
/// </description></item>
/// <item><description>
/// <b>Locks.</b> The table lock guards the slots and is the innermost lock: nothing under it takes another lock (it
/// calls only the object's reference and state changes, the object-count metric and, when traced, the errno log).
/// Nobody waits for short-term users while holding a lock that an ioctl may take after its lookup (the file's attach
/// lock, an IOAS lock), so a waiting destroyer never deadlocks with the ioctl it waits for. An object with a
/// <see cref="IommufdObject.DestroyGate"/> is claimed and destroyed under that gate (gate before table lock).
/// </description></item>
/// </list>
/// </remarks>
internal sealed class ObjectTable
{
    private static readonly object Tombstone = new();

    private readonly Diagnostics.FailNth? _faults;
    private readonly IommufdMetrics? _metrics;
    private readonly Lock _lock = new(); // guards changes of _slots, _free, _next and _count (lookups read _slots without it)
    private readonly PriorityQueue<uint, uint> _free = new();
    private object?[] _slots = new object?[16];
    private uint _next = 1;
    private int _count;

    public ObjectTable(Diagnostics.FailNth? faults = null, IommufdMetrics? metrics = null)
    {
        _faults = faults;
        _metrics = metrics;
    }

    /// <summary>Live objects plus tombstones (objects being destroyed are not counted).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// Publishes a fully built object: gives it its ID and the table's user reference. From here on another thread
    /// can see it, so the caller must not fail the creation afterwards.
    /// </summary>
    public uint Add(IommufdObject obj)
    {
        obj.AddUser(); // the table's reference
        lock (_lock)
        {
            uint id = _free.Count > 0 ? _free.Dequeue() : _next++;
            if (id >= _slots.Length)
            {
                var bigger = new object?[Math.Max(_slots.Length * 2, (int)id + 1)];
                Array.Copy(_slots, bigger, _slots.Length);
                Volatile.Write(ref _slots, bigger); // published whole: lookups read the array without the lock
            }

            obj.Id = id;
            obj.SetState(ObjectState.Live);
            Volatile.Write(ref _slots[id], obj);
            _count++;
            _metrics?.ObjectAdded(obj.Type);
            return id;
        }
    }

    /// <summary>
    /// Looks up <paramref name="id"/> as a <typeparamref name="T"/> and takes a lookup reference, released by
    /// disposing the returned handle. A missing ID, a tombstone, an object being destroyed or another type is ENOENT.
    /// </summary>
    public Errno Get<T>(uint id, out ObjectRef<T> handle)
        where T : IommufdObject => Find(id, marked: false, out handle);

    /// <summary>
    /// Looks up <paramref name="id"/> for a call that only uses the object while it runs and gives it no dependent
    /// (IOMMU_HWPT_INVALIDATE): on an object that <see cref="IommufdObject.TakesMarkedLookups"/>, the thread's mark
    /// (<see cref="CallMarks"/>, a plain store and a plain load) stands in for the reference's compare-and-swap and
    /// interlocked add; otherwise, or when the thread already marks an object, it is <see cref="Get{T}"/>. A destroyer
    /// that claimed the object waits for the marks on it (<see cref="WaitForShortTermUsers"/>), so the use completes
    /// first: where a counted lookup makes a racing IOMMU_DESTROY answer EBUSY, a marked one makes it wait.
    /// </summary>
    public Errno GetMarked<T>(uint id, out ObjectRef<T> handle)
        where T : IommufdObject => Find(id, marked: true, out handle);

    private Errno Find<T>(uint id, bool marked, out ObjectRef<T> handle)
        where T : IommufdObject
    {
        if (_faults?.ShouldFail() == true)
        {
            handle = default;
            return Errno.ENOENT; // as iommufd_get_object under fail_nth
        }

        // Without the table lock (the kernel's xa_load under RCU): a slot is published after its object is built,
        // and an object that is being claimed or removed refuses the reference (IommufdObject.TryLock).
        var slots = Volatile.Read(ref _slots);
        if (id < (uint)slots.Length && Volatile.Read(ref slots[id]) is T obj)
        {
            if (marked && obj.TakesMarkedLookups && CallMarks.EnterObject(obj) is { } mark)
            {
                // The mark is stored before the state is read; a destroyer stores the state before its process-wide
                // barrier and looks at the marks after it, so either this sees the object claimed or the destroyer
                // sees the mark and waits (the argument of CallMarks).
                if (obj.State == ObjectState.Live)
                {
                    handle = new ObjectRef<T>(obj, mark);
                    return Errno.Success;
                }

                CallMarks.ExitObject(mark);
            }
            else if (obj.TryLock())
            {
                handle = new ObjectRef<T>(obj);
                return Errno.Success;
            }
        }

        handle = default;
        return Errno.ENOENT; // no reason logged here: callers often answer a failed lookup with an errno of their own
    }

    /// <summary>Looks up any object (for handlers that answer a wrong type with their own errno).</summary>
    public Errno Get(uint id, out ObjectRef<IommufdObject> handle) => Get<IommufdObject>(id, out handle);

    /// <summary>The live objects of type <typeparamref name="T"/> at this moment.</summary>
    public List<T> Snapshot<T>()
        where T : IommufdObject
    {
        lock (_lock)
        {
            return [.. _slots.OfType<T>().Where(o => o.State == ObjectState.Live)];
        }
    }

    /// <summary>IOMMU_DESTROY: destroys the object if its only user is the table (EBUSY otherwise, ENOENT if unknown).</summary>
    public Errno Destroy(uint id, IommufdObjectType? requiredType = null)
    {
        Lock? gate;
        lock (_lock)
        {
            gate = id < _slots.Length && _slots[id] is IommufdObject o ? o.DestroyGate : null;
        }

        if (gate is null)
        {
            return ClaimAndDestroy(id, requiredType);
        }

        lock (gate)
        {
            return ClaimAndDestroy(id, requiredType);
        }
    }

    /// <summary>
    /// Claims <paramref name="obj"/> for destruction if the table holds the only reference, and frees its ID. The
    /// caller then runs <see cref="FinishDestroy"/>, outside any lock an ioctl may take.
    /// </summary>
    public bool TryClaim(IommufdObject obj)
    {
        lock (_lock)
        {
            if (obj.Id >= _slots.Length || !ReferenceEquals(_slots[obj.Id], obj) || !obj.TryClaim())
            {
                return false;
            }

            Release(obj.Id);
            return true;
        }
    }

    /// <summary>Waits for racing handle drops on a claimed object, then destroys it.</summary>
    public void FinishDestroy(IommufdObject obj)
    {
        WaitForShortTermUsers(obj);
        obj.Destroy();
        obj.SetState(ObjectState.Destroyed);
        _metrics?.ObjectDestroyed(obj.Type);
    }

    /// <summary>
    /// First step of a removal by the core whatever the object's users (a device being unbound, its vDEVICE):
    /// lookups fail from now on. False when the object is not live in this table (someone else is destroying it).
    /// Follow with <see cref="WaitForShortTermUsers"/> and <see cref="FinishRemove"/>.
    /// </summary>
    public bool BeginRemove(IommufdObject obj)
    {
        lock (_lock)
        {
            if (obj.Id >= _slots.Length || !ReferenceEquals(_slots[obj.Id], obj) || obj.State != ObjectState.Live)
            {
                return false;
            }

            obj.SetState(ObjectState.Dying);
            return true;
        }
    }

    /// <summary>
    /// Last step of a removal begun by <see cref="BeginRemove"/>: waits for ioctls still inside the object, frees
    /// its slot (or leaves a tombstone), drops the table's reference and destroys it.
    /// </summary>
    public void FinishRemove(IommufdObject obj, bool leaveTombstone)
    {
        WaitForShortTermUsers(obj);
        lock (_lock)
        {
            if (leaveTombstone)
            {
                _slots[obj.Id] = Tombstone;
            }
            else
            {
                Release(obj.Id);
            }
        }

        obj.RemoveUser(); // the table's reference
        obj.Destroy();
        obj.SetState(ObjectState.Destroyed);
        _metrics?.ObjectDestroyed(obj.Type);
    }

    /// <summary>
    /// Destroys everything, dependents first, as closing the file does: repeatedly every object whose only user is
    /// the table. Returns the number destroyed; <paramref name="left"/> counts objects that still had users at the
    /// end (a reference-counting bug: they are left alone rather than destroyed under their users).
    /// </summary>
    public int DestroyAll(out int left)
    {
        int destroyed = 0;
        while (true)
        {
            var victims = new List<IommufdObject>();
            left = 0;
            lock (_lock)
            {
                for (uint id = 1; id < _slots.Length; id++)
                {
                    switch (_slots[id])
                    {
                        case IommufdObject o when o.TryClaim():
                            victims.Add(o);
                            Release(id);
                            break;
                        case IommufdObject:
                            left++;
                            break;
                        case null:
                            break;
                        default:
                            Release(id); // a tombstone
                            break;
                    }
                }
            }

            if (victims.Count == 0)
            {
                return destroyed;
            }

            foreach (var victim in victims)
            {
                FinishDestroy(victim);
                destroyed++;
            }
        }
    }

    /// <summary>
    /// Waits until no lookup holds <paramref name="obj"/>, counted or marked (short spin, then sleeping). The caller
    /// has taken the object out of the live state.
    /// </summary>
    public static void WaitForShortTermUsers(IommufdObject obj)
    {
        var spin = default(SpinWait);
        while (obj.ShortTermUsers > 0)
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }

        if (obj.TakesMarkedLookups)
        {
            CallMarks.WaitForNoneIn(obj);
        }
    }

    private Errno ClaimAndDestroy(uint id, IommufdObjectType? requiredType)
    {
        IommufdObject obj;
        lock (_lock)
        {
            if (id >= _slots.Length || _slots[id] is not IommufdObject found || found.State != ObjectState.Live
                || (requiredType is { } t && found.Type != t))
            {
                return Refusal.Because(Errno.ENOENT, $"no object with ID {id}{(requiredType is { } r ? $" of type {r}" : "")}");
            }

            if (!found.DestroyableByUser || !found.TryClaim())
            {
                return Refusal.Because(Errno.EBUSY, $"{found.Type} {id} is in use{(found.DestroyableByUser ? "" : " (only the core removes it)")}");
            }

            obj = found;
            Release(id);
        }

        FinishDestroy(obj);
        return Errno.Success;
    }

    private void Release(uint id)
    {
        _slots[id] = null;
        _count--;
        _free.Enqueue(id, id);
    }
}
