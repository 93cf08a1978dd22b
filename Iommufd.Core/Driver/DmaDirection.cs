namespace Iommufd.Core.Driver;

/// <summary>The direction of a DMA transaction.</summary>
public enum DmaDirection
{
    /// <summary>The device reads memory (a DMA from memory to the device).</summary>
    Read,
    /// <summary>The device writes memory.</summary>
    Write,
}
