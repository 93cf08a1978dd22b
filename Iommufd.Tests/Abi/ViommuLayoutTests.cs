using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>vIOMMU, vDEVICE, vEVENTQ and HW queue structs: include/uapi/linux/iommufd.h.</summary>
[TestFixture]
public class ViommuLayoutTests
{
    [Test]
    public void IommuViommuAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuViommuAlloc>(40,
            (nameof(IommuViommuAlloc.Size), 0),
            (nameof(IommuViommuAlloc.Flags), 4),
            (nameof(IommuViommuAlloc.Type), 8),
            (nameof(IommuViommuAlloc.DevId), 12),
            (nameof(IommuViommuAlloc.HwptId), 16),
            (nameof(IommuViommuAlloc.OutViommuId), 20),
            (nameof(IommuViommuAlloc.DataLen), 24),
            (nameof(IommuViommuAlloc.Reserved), 28),
            (nameof(IommuViommuAlloc.DataUptr), 32));

    [Test]
    public void IommuVdeviceAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuVdeviceAlloc>(24,
            (nameof(IommuVdeviceAlloc.Size), 0),
            (nameof(IommuVdeviceAlloc.ViommuId), 4),
            (nameof(IommuVdeviceAlloc.DevId), 8),
            (nameof(IommuVdeviceAlloc.OutVdeviceId), 12),
            (nameof(IommuVdeviceAlloc.VirtId), 16));

    [Test]
    public void IommuVeventqAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuVeventqAlloc>(32,
            (nameof(IommuVeventqAlloc.Size), 0),
            (nameof(IommuVeventqAlloc.Flags), 4),
            (nameof(IommuVeventqAlloc.ViommuId), 8),
            (nameof(IommuVeventqAlloc.Type), 12),
            (nameof(IommuVeventqAlloc.VeventqDepth), 16),
            (nameof(IommuVeventqAlloc.OutVeventqId), 20),
            (nameof(IommuVeventqAlloc.OutVeventqFd), 24),
            (nameof(IommuVeventqAlloc.Reserved), 28));

    [Test]
    public void IommuHwQueueAlloc_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommuHwQueueAlloc>(40,
            (nameof(IommuHwQueueAlloc.Size), 0),
            (nameof(IommuHwQueueAlloc.Flags), 4),
            (nameof(IommuHwQueueAlloc.ViommuId), 8),
            (nameof(IommuHwQueueAlloc.Type), 12),
            (nameof(IommuHwQueueAlloc.Index), 16),
            (nameof(IommuHwQueueAlloc.OutHwQueueId), 20),
            (nameof(IommuHwQueueAlloc.NestingParentIova), 24),
            (nameof(IommuHwQueueAlloc.Length), 32));

    [Test]
    public void IommufdVeventHeader_matches_the_reference_layout() =>
        AbiLayout.AssertLayout<IommufdVeventHeader>(8,
            (nameof(IommufdVeventHeader.Flags), 0),
            (nameof(IommufdVeventHeader.Sequence), 4));
}
