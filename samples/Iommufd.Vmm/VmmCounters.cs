using Iommufd.Core.Uapi;

namespace Iommufd.Vmm;

/// <summary>What a vSMMU front end did, for the VMM's summary.</summary>
public sealed class VmmCounters
{
    private uint? _lastSequence;

    /// <summary>Commands read from the guest's command queue.</summary>
    public long GuestCommands { get; internal set; }

    /// <summary>CMD_SYNCs the guest issued and the front end completed.</summary>
    public long GuestSyncs { get; internal set; }

    /// <summary>Times the guest's queue was stopped with CONS.ERR and GERROR.CMDQ_ERR.</summary>
    public long GuestErrors { get; internal set; }

    /// <summary>Commands passed to the host in IOMMU_HWPT_INVALIDATE batches.</summary>
    public long ForwardedCommands { get; internal set; }

    /// <summary>IOMMU_HWPT_INVALIDATE calls made.</summary>
    public long Ioctls { get; internal set; }

    /// <summary>IOMMU_HWPT_INVALIDATE calls that returned an errno.</summary>
    public long ForwardErrors { get; internal set; }

    /// <summary>Guest STEs installed as an attachment (abort, bypass or a nested HWPT).</summary>
    public long SteInstalls { get; internal set; }

    /// <summary>Events written to the guest's event queue.</summary>
    public long EventsDelivered { get; internal set; }

    /// <summary>Events not delivered: the guest's event queue was off, full or outside guest RAM.</summary>
    public long EventsDropped { get; internal set; }

    /// <summary>Events the host's vEVENTQ lost (a lost-events header or a sequence gap).</summary>
    public long EventsLostByHost { get; internal set; }

    internal void NoteEventSequence(IommufdVeventHeader header)
    {
        if (_lastSequence is uint last)
        {
            uint gap = (header.Sequence - last - 1) & int.MaxValue;
            EventsLostByHost += gap;
        }

        _lastSequence = header.Sequence;
    }
}
