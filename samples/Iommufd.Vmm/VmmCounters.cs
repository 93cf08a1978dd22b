using Iommufd.Core.Uapi;

namespace Iommufd.Vmm;

/// <summary>What a vSMMU front end did, for the VMM's summary.</summary>
public sealed class VmmCounters
{
    private uint? _lastSequence;

    public long GuestCommands { get; internal set; }

    public long GuestSyncs { get; internal set; }

    public long GuestErrors { get; internal set; }

    public long ForwardedCommands { get; internal set; }

    public long Ioctls { get; internal set; }

    public long ForwardErrors { get; internal set; }

    public long SteInstalls { get; internal set; }

    public long EventsDelivered { get; internal set; }

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
