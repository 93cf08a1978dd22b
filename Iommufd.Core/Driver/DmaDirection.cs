namespace Iommufd.Core.Driver;

/// <summary>The direction of a DMA transaction.</summary>
public enum DmaDirection
{
    Read,
    Write,
}
