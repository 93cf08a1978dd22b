namespace Iommufd.Core;

/// <summary>
/// Which <see cref="IommufdFile"/> each thread is in a call on, so that closing a file can wait for its calls in
/// flight without an interlocked operation on every call. A call marks its thread's slot with the file (a plain store)
/// and then reads whether the file is closed (a plain load); the closer first sets the file closed, then runs a
/// process-wide memory barrier (<see cref="Interlocked.MemoryBarrierProcessWide"/>, Linux's membarrier(2),
/// kernel/sched/membarrier.c) and only then looks at the slots. The barrier runs a full fence on every thread between
/// the closer's store and its reads, so each call either sees the file closed or is seen by the closer, which waits
/// for it: the same guarantee an interlocked count of calls in flight gave, paid once per close instead of twice per
/// call.
/// </summary>
/// <remarks>
/// One slot per thread, holding the file of the thread's outermost call and the depth of calls on that file. A call on
/// another file while the thread is in a call (a nested call on a second file) is not marked here: the file counts it
/// in its interlocked count instead (<see cref="IommufdFile"/>'s EnterCall).
/// <para>
/// The slot also holds the object a call uses through a marked lookup (<see cref="Objects.ObjectTable.GetMarked{T}"/>):
/// the same store, barrier and look, with a destroyer of the object in the closer's place
/// (<see cref="WaitForNoneIn"/>).
/// </para>
/// </remarks>
internal static class CallMarks
{
    [ThreadStatic]
    private static Mark? t_mark;

    private static readonly Lock RegistryLock = new(); // guards Registry
    private static readonly List<WeakReference<Mark>> Registry = [];

    /// <summary>
    /// Marks this thread as in a call on <paramref name="file"/>, or returns null when the thread is already in a call
    /// on another file (the caller counts the call itself).
    /// </summary>
    public static Mark? Enter(IommufdFile file)
    {
        var mark = t_mark ?? Register();
        if (mark.File is null)
        {
            mark.Depth = 1;
            Volatile.Write(ref mark.File, file);
            return mark;
        }

        if (ReferenceEquals(mark.File, file))
        {
            mark.Depth++;
            return mark;
        }

        return null;
    }

    /// <summary>Ends a call <see cref="Enter"/> marked.</summary>
    public static void Exit(Mark mark)
    {
        if (--mark.Depth == 0)
        {
            Volatile.Write(ref mark.File, null);
        }
    }

    /// <summary>
    /// Marks this thread as using <paramref name="obj"/> without a reference on it, or returns null when the thread has
    /// no slot or already marks an object (the caller takes a counted reference instead). The caller then reads the
    /// object's state and drops the mark unless it is live.
    /// </summary>
    public static Mark? EnterObject(Objects.IommufdObject obj)
    {
        var mark = t_mark;
        if (mark is null || mark.Object is not null)
        {
            return null;
        }

        Volatile.Write(ref mark.Object, obj);
        return mark;
    }

    /// <summary>Ends a use <see cref="EnterObject"/> marked.</summary>
    public static void ExitObject(Mark mark) => Volatile.Write(ref mark.Object, null);

    /// <summary>
    /// Waits until no thread uses <paramref name="obj"/> through a mark. The caller has taken the object out of the
    /// live state (claimed it), so a marked lookup that starts afterwards lets go of it.
    /// </summary>
    public static void WaitForNoneIn(Objects.IommufdObject obj)
    {
        Interlocked.MemoryBarrierProcessWide();
        var spin = default(SpinWait);
        while (AnyIn(obj))
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }
    }

    /// <summary>
    /// Waits until no thread is in a call on <paramref name="file"/> that it marked. The caller has set the file
    /// closed, so no new call marks it.
    /// </summary>
    public static void WaitForNone(IommufdFile file)
    {
        Interlocked.MemoryBarrierProcessWide();
        var spin = default(SpinWait);
        while (AnyOn(file))
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }
    }

    private static bool AnyOn(IommufdFile file) => Any(file, static (m, f) => ReferenceEquals(Volatile.Read(ref m.File), f));

    private static bool AnyIn(Objects.IommufdObject obj) => Any(obj, static (m, o) => ReferenceEquals(Volatile.Read(ref m.Object), o));

    private static bool Any<T>(T target, Func<Mark, T, bool> holds)
    {
        lock (RegistryLock)
        {
            foreach (var weak in Registry)
            {
                if (weak.TryGetTarget(out var mark) && holds(mark, target))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The thread's first call: a slot of its own, once (the slots of threads that ended are dropped).</summary>
    private static Mark Register()
    {
        var mark = new Mark();
        lock (RegistryLock)
        {
            Registry.RemoveAll(static w => !w.TryGetTarget(out _));
            Registry.Add(new WeakReference<Mark>(mark));
        }

        return t_mark = mark;
    }

    /// <summary>
    /// One thread's slot: the file of its outermost call (null when in none), the depth on it, and the object it uses
    /// through a marked lookup (null when none).
    /// </summary>
    internal sealed class Mark
    {
        public IommufdFile? File;
        public int Depth;
        public Objects.IommufdObject? Object;
    }
}
