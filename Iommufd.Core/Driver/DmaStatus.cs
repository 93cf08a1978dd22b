namespace Iommufd.Core.Driver;

/// <summary>How a DMA transaction ended.</summary>
public enum DmaStatus
{
    /// <summary>Translated and completed.</summary>
    Ok,

    /// <summary>The IOMMU found no translation (the transaction is aborted; an event may be recorded).</summary>
    TranslationFault,

    /// <summary>The translation exists but forbids this access.</summary>
    PermissionFault,

    /// <summary>The device's configuration (no attachment, an aborting STE) blocks all DMA.</summary>
    Blocked,

    /// <summary>The translated physical address is not backed by memory.</summary>
    BusError,
}
