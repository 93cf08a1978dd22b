namespace Iommufd.Core.Objects;

/// <summary>
/// The ID → object table of one iommufd file (the kernel's <c>ictx->objects</c> xarray). IDs start at 1 and the
/// lowest free ID is reused. Safe for concurrent ioctls.
/// </summary>
internal sealed class ObjectTable
{
    private static readonly object Tombstone = new();

    private readonly Lock _lock = new(); // guards _slots, _free and _count
    private readonly PriorityQueue<uint, uint> _free = new();
    private object?[] _slots = new object?[16];
    private uint _next = 1;
    private int _count;

    /// <summary>Live objects plus tombstones.</summary>
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

    /// <summary>Adds a fully built object and gives it its ID.</summary>
    public uint Add(IommufdObject obj)
    {
        lock (_lock)
        {
            uint id = _free.Count > 0 ? _free.Dequeue() : _next++;
            if (id >= _slots.Length)
            {
                Array.Resize(ref _slots, Math.Max(_slots.Length * 2, (int)id + 1));
            }

            obj.Id = id;
            _slots[id] = obj;
            _count++;
            return id;
        }
    }

    /// <summary>
    /// Looks up <paramref name="id"/> as a <typeparamref name="T"/> and takes a short-term reference, released by
    /// disposing the returned handle. A missing ID, a tombstone or another type is ENOENT.
    /// </summary>
    public Errno Get<T>(uint id, out ObjectRef<T> handle)
        where T : IommufdObject
    {
        lock (_lock)
        {
            if (id < _slots.Length && _slots[id] is T obj)
            {
                obj.AddShortTermUser();
                handle = new ObjectRef<T>(obj);
                return Errno.Success;
            }
        }

        handle = default;
        return Errno.ENOENT;
    }

    /// <summary>Looks up any object (for handlers that answer a wrong type with their own errno).</summary>
    public Errno Get(uint id, out ObjectRef<IommufdObject> handle) => Get<IommufdObject>(id, out handle);

    /// <summary>The live objects of type <typeparamref name="T"/> at this moment.</summary>
    public List<T> Snapshot<T>()
        where T : IommufdObject
    {
        lock (_lock)
        {
            return [.. _slots.OfType<T>()];
        }
    }

    /// <summary>
    /// IOMMU_DESTROY: removes the object if nothing depends on it. Waits for ioctls that are using it to finish,
    /// then destroys it.
    /// </summary>
    public Errno Destroy(uint id, IommufdObjectType? requiredType = null)
    {
        IommufdObject obj;
        lock (_lock)
        {
            if (id >= _slots.Length || _slots[id] is not IommufdObject found
                || (requiredType is { } t && found.Type != t))
            {
                return Errno.ENOENT;
            }

            if (!found.DestroyableByUser || found.Users > 0)
            {
                return Errno.EBUSY;
            }

            obj = found;
            _slots[id] = null; // no new lookups from here on
        }

        WaitForShortTermUsers(obj);
        lock (_lock)
        {
            // An ioctl that held the object may have made something depend on it meanwhile.
            if (obj.Users > 0)
            {
                _slots[id] = obj;
                return Errno.EBUSY;
            }

            Release(id);
        }

        obj.Destroy();
        return Errno.Success;
    }

    /// <summary>
    /// Removes an object the core itself destroys (an automatic domain, an aborted allocation, a force-destroyed
    /// vDEVICE). With <paramref name="leaveTombstone"/> the ID stays taken until the file is closed.
    /// </summary>
    public void Remove(IommufdObject obj, bool leaveTombstone = false)
    {
        lock (_lock)
        {
            if (obj.Id >= _slots.Length || !ReferenceEquals(_slots[obj.Id], obj))
            {
                throw new InvalidOperationException($"{obj.Type} {obj.Id} is not in the table");
            }

            if (leaveTombstone)
            {
                _slots[obj.Id] = Tombstone;
            }
            else
            {
                Release(obj.Id);
            }
        }

        WaitForShortTermUsers(obj);
    }

    /// <summary>
    /// Destroys everything, dependents first, as closing the file does. Returns the number of objects destroyed.
    /// </summary>
    public int DestroyAll()
    {
        int destroyed = 0;
        while (true)
        {
            IommufdObject? victim = null;
            lock (_lock)
            {
                bool any = false;
                for (uint id = 1; id < _slots.Length; id++)
                {
                    switch (_slots[id])
                    {
                        case IommufdObject o when o.Users == 0:
                            victim = o;
                            Release(id);
                            break;
                        case IommufdObject:
                            any = true;
                            continue;
                        case null:
                            continue;
                        default:
                            Release(id); // a tombstone
                            continue;
                    }

                    break;
                }

                if (victim is null)
                {
                    if (any)
                    {
                        throw new InvalidOperationException("objects still have users after every free object was destroyed");
                    }

                    return destroyed;
                }
            }

            WaitForShortTermUsers(victim);
            victim.Destroy();
            destroyed++;
        }
    }

    private void Release(uint id)
    {
        _slots[id] = null;
        _count--;
        _free.Enqueue(id, id);
    }

    private static void WaitForShortTermUsers(IommufdObject obj)
    {
        var spin = default(SpinWait);
        while (obj.ShortTermUsers > 0)
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }
    }
}
