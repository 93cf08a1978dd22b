namespace Iommufd.Core.Diagnostics;

/// <summary>
/// The one fault-injection seam of the emulation, in the spirit of the kernel's <c>fail_nth</c>
/// (tools/testing/selftests/iommu/iommufd_fail_nth.c with <c>iommufd_should_fail</c> in the core): the core and
/// the drivers ask <see cref="ShouldFail"/> at every allocation or step that can fail, and a test makes the n-th such
/// point reached from its own thread fail. Registered by <c>AddIommufd</c>; drivers take it from DI.
/// </summary>
/// <remarks>
/// Only the thread that armed it counts, as fail_nth is per task, so engine threads of the emulated hardware never
/// fail by accident. Disarmed, a point costs one volatile read.
/// </remarks>
public sealed class FailNth
{
    private int _armedThread; // 0 when disarmed
    private int _nth;
    private int _hits;

    /// <summary>Injection points reached by the armed thread since <see cref="Arm"/>.</summary>
    public int Hits => Volatile.Read(ref _hits);

    /// <summary>True once the n-th point was reached and failed.</summary>
    public bool Fired => Volatile.Read(ref _hits) >= Volatile.Read(ref _nth) && Volatile.Read(ref _nth) > 0;

    /// <summary>Makes the <paramref name="nth"/> (from 1) injection point the calling thread reaches fail.</summary>
    public void Arm(int nth)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nth);
        Volatile.Write(ref _hits, 0);
        Volatile.Write(ref _nth, nth);
        Volatile.Write(ref _armedThread, Environment.CurrentManagedThreadId);
    }

    /// <summary>Stops counting; <see cref="Hits"/> and <see cref="Fired"/> keep their values.</summary>
    public void Disarm() => Volatile.Write(ref _armedThread, 0);

    /// <summary>An injection point: true when this is the one that must fail (answer with the step's errno, usually ENOMEM).</summary>
    public bool ShouldFail()
    {
        int armed = Volatile.Read(ref _armedThread);
        if (armed == 0 || armed != Environment.CurrentManagedThreadId)
        {
            return false;
        }

        return ++_hits == _nth;
    }
}
