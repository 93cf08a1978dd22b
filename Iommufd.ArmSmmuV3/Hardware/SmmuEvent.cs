namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>A 32-byte event record (spec §7.3): four little-endian words, fields per arm-smmu-v3.h EVTQ_*.</summary>
public readonly record struct SmmuEvent(ulong Word0, ulong Word1, ulong Word2, ulong Word3)
{
    /// <summary>Size in bytes of an event record (§7.3; arm-smmu-v3.h EVTQ_ENT_DWORDS words of 8 bytes).</summary>
    public const int Size = 32;

    /// <summary>The event type [7:0] (§7.3; EVTQ_0_ID).</summary>
    public SmmuEventId Id => (SmmuEventId)(byte)Word0;

    /// <summary>StreamID [63:32] (§7.3; EVTQ_0_SID): the stream the event is about.</summary>
    public uint StreamId => (uint)(Word0 >> 32);

    /// <summary>SSV [11] (§7.3; EVTQ_0_SSV): <see cref="SubstreamId"/> is valid.</summary>
    public bool Ssv => (Word0 & (1UL << 11)) != 0;

    /// <summary>SubstreamID [31:12] (§7.3; EVTQ_0_SSID), meaningful when <see cref="Ssv"/> is set.</summary>
    public uint SubstreamId => (uint)((Word0 >> 12) & 0xFFFFF);

    /// <summary>RnW [35]: 1 = read.</summary>
    public bool IsRead => (Word1 & (1UL << 35)) != 0;

    /// <summary>S2 [39]: the fault was at stage 2.</summary>
    public bool Stage2 => (Word1 & (1UL << 39)) != 0;

    /// <summary>CLASS [41:40]: 0 CD, 1 TTD, 2 IN.</summary>
    public int Class => (int)((Word1 >> 40) & 3);

    /// <summary>TTRnW [44]: a stage-2 Permission fault of a stage-1 table access (CLASS = TT) came from a read.</summary>
    public bool TableRead => (Word1 & (1UL << 44)) != 0;

    /// <summary>InputAddr, word 2 (§7.3; EVTQ_2_ADDR): the input address of the faulting transaction.</summary>
    public ulong InputAddress => Word2;

    /// <summary>IPA [51:12] of word 3 (§7.3; EVTQ_3_IPA): the intermediate physical address of a stage-2 fault.</summary>
    public ulong Ipa => Word3 & 0x000F_FFFF_FFFF_F000;

    /// <summary>FetchAddr [55:3] of word 3 (F_STE_FETCH, F_CD_FETCH, F_WALK_EABT: spec §7.3.4, §7.3.10, §7.3.12).</summary>
    public ulong FetchAddress => Word3 & 0x00FF_FFFF_FFFF_FFF8;

    /// <summary>
    /// Builds a record; <paramref name="ssid"/> null means no substream (SSV = 0). Word 3 holds the IPA of a fault
    /// (translation-class events) or the FetchAddr of an abort (fetch events); a record has one or the other.
    /// </summary>
    public static SmmuEvent Create(
        SmmuEventId id, uint sid, uint? ssid = null, ulong inputAddress = 0, bool read = false, bool stage2 = false, int eventClass = 0,
        ulong ipa = 0, ulong fetchAddress = 0, bool tableRead = false)
    {
        ulong w0 = (byte)id | ((ulong)sid << 32);
        if (ssid is uint s)
        {
            w0 |= (1UL << 11) | ((ulong)(s & 0xFFFFF) << 12);
        }

        ulong w1 = (read ? 1UL << 35 : 0) | (stage2 ? 1UL << 39 : 0) | ((ulong)(eventClass & 3) << 40) | (tableRead ? 1UL << 44 : 0);
        return new SmmuEvent(w0, w1, inputAddress, (ipa & 0x000F_FFFF_FFFF_F000) | (fetchAddress & 0x00FF_FFFF_FFFF_FFF8));
    }

    /// <summary>
    /// C_BAD_SUBSTREAMID (spec §7.3.8): the StreamID and the SubstreamID that was refused, with SSV = 0 (the
    /// record has no SSV field; QEMU's smmuv3_record_event fills it the same way).
    /// </summary>
    public static SmmuEvent BadSubstream(uint sid, uint ssid) =>
        new((byte)SmmuEventId.C_BAD_SUBSTREAMID | ((ulong)(ssid & 0xFFFFF) << 12) | ((ulong)sid << 32), 0, 0, 0);

    /// <summary>The same record with the StreamID field replaced (a host relays faults with the guest's vSID).</summary>
    public SmmuEvent WithStreamId(uint sid) => this with { Word0 = (Word0 & 0xFFFF_FFFFUL) | ((ulong)sid << 32) };

    /// <summary>Reads a record's four little-endian words from <paramref name="b"/> (at least 32 bytes).</summary>
    public static SmmuEvent Read(ReadOnlySpan<byte> b)
    {
        var (w0, w1, w2, w3) = LittleEndianWords.Read4(b);
        return new(w0, w1, w2, w3);
    }

    /// <summary>Writes the record's four words, little-endian, to <paramref name="b"/>.</summary>
    public void Write(Span<byte> b)
    {
        LittleEndianWords.Write4(b, Word0, Word1, Word2, Word3);
    }

    /// <summary>A one-line form: type, StreamID, SubstreamID when SSV, input address, stage and direction.</summary>
    public override string ToString() =>
        $"{Id} sid=0x{StreamId:x}{(Ssv ? $" ssid=0x{SubstreamId:x}" : "")} addr=0x{InputAddress:x}{(Stage2 ? " S2" : "")} {(IsRead ? "read" : "write")}";
}
