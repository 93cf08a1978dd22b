namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The pause of a thread polling a word another core writes (a CONS, a PROD, a slot's valid mark): a short pause
/// between two looks, and the core given up every <see cref="LooksPerYield"/> looks, so that threads outnumbering the
/// cores (the writer among them) still run. Unlike <see cref="SpinWait.SpinOnce()"/>, it does not start yielding after
/// ten looks: a yield costs about a microsecond in a VM, more than the waits it is used for.
/// </summary>
internal struct PausingPoll
{
    /// <summary>Looks between two yields of the core.</summary>
    public const int LooksPerYield = 64;

    /// <summary>Thread.SpinWait iterations (about 40 ns each) between two looks.</summary>
    public const int PauseIterations = 2;

    /// <summary>The looks paused for so far.</summary>
    public int Looks { get; private set; }

    /// <summary>Pauses before the next look.</summary>
    public void Pause()
    {
        if (++Looks % LooksPerYield == 0)
        {
            Thread.Yield();
        }
        else
        {
            Thread.SpinWait(PauseIterations);
        }
    }
}
