using Iommufd.Vmm;

namespace NestedVmm;

/// <summary>What the main job runs.</summary>
public sealed class NestedVmmOptions
{
    /// <summary>The paths to run, in order.</summary>
    public List<InvalidationPath> Paths { get; } = [InvalidationPath.Trap, InvalidationPath.HardwareVcmdq, InvalidationPath.SoftwareVcmdq];

    /// <summary>Guest vCPU threads doing DMA and map/unmap churn.</summary>
    public int GuestThreads { get; set; } = 2;

    /// <summary>Passed-through devices (the first is ATS-capable).</summary>
    public int Devices { get; set; } = 2;

    /// <summary>How long each path runs.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Stop each path after this many map/DMA/unmap rounds per thread (0: run for <see cref="Duration"/>).</summary>
    public int RoundsPerThread { get; set; }

    /// <summary>Pages mapped per round.</summary>
    public int PagesPerRound { get; set; } = 4;

    /// <summary>What each trapped guest access costs (the VM exit before the VMM's emulation).</summary>
    public TrapCost TrapCost { get; set; } = TrapCost.Default;

    /// <summary>Print a progress line every second.</summary>
    public bool Progress { get; set; } = true;

    /// <summary>Where the emulation's log goes (the errno trace, driver events) at Debug, or null for none.</summary>
    public TextWriter? Trace { get; set; }
}
