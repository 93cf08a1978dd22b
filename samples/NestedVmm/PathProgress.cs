using Iommufd.Vmm;
namespace NestedVmm;

/// <summary>How far one path's run is: what a progress display shows.</summary>
/// <param name="Path">The path running.</param>
/// <param name="Elapsed">Time since its vCPUs started.</param>
/// <param name="Fraction">Done so far, 0 to 1: the time or the rounds, whichever the run is bounded by.</param>
/// <param name="Rounds">Map → DMA → unmap → check rounds, all vCPUs.</param>
/// <param name="DmaOperations">Device transactions, all vCPUs.</param>
public readonly record struct PathProgress(InvalidationPath Path, TimeSpan Elapsed, double Fraction, long Rounds, long DmaOperations);
