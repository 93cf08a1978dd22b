using System.Buffers.Binary;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.ArmSmmuV3.Hardware;

// Translation of a device's transactions (spec §3): STE → (CD) → IOTLB or table walk → memory. Faults are
// recorded as events when the configuration asks for it (CD.R at stage 1, STE.S2R at stage 2); the interrupt a
// record owes is raised by the public entry points once the translation is over (SmmuV3.EventQueue.cs).
internal sealed partial class SmmuV3
{
    private const ulong StrtabBaseAddressMask = 0x000F_FFFF_FFFF_FFC0;

    /// <summary>L1CD.L2Ptr (spec §5.3), to bit 51 as the host masks (arm-smmu-v3.h CTXDESC_L1_DESC_L2PTR_MASK).</summary>
    private const ulong L1CdL2PtrMask = 0x000F_FFFF_FFFF_F000;

    /// <summary>The largest SubstreamID (20 bits).</summary>
    private const uint MaxSubstreamId = 0xF_FFFF;

    /// <summary>Event CLASS (spec §7.3): the fault arose fetching a CD.</summary>
    private const int ClassCd = 0;

    /// <summary>Event CLASS: the fault arose fetching a stage-1 translation table descriptor.</summary>
    private const int ClassTt = 1;

    /// <summary>Event CLASS: the input address caused the fault.</summary>
    private const int ClassIn = 2;

    /// <summary>
    /// A DMA transaction from the device with StreamID <paramref name="sid"/>, split at 4 KiB boundaries, each
    /// piece translated and then performed on physical memory.
    /// </summary>
    public DmaStatus Dma(uint sid, ulong iova, Span<byte> buffer, DmaDirection direction) => Dma(sid, null, iova, buffer, direction);

    /// <summary>
    /// A DMA transaction with SubstreamID <paramref name="ssid"/> (a PCIe PASID; null: none, SSV = 0), split at
    /// 4 KiB boundaries, each piece translated and then performed on physical memory.
    /// </summary>
    public DmaStatus Dma(uint sid, uint? ssid, ulong iova, Span<byte> buffer, DmaDirection direction)
    {
        CheckSubstreamId(ssid);
        bool write = direction == DmaDirection.Write;
        while (!buffer.IsEmpty)
        {
            int chunk = (int)Math.Min((ulong)buffer.Length, PhysicalMemory.PageSize - (iova & (PhysicalMemory.PageSize - 1)));

            // One transaction from lookup to memory access: a CMD_SYNC waits for it (see InFlightTransactions).
            int slot = _inFlight.Enter();
            DmaStatus status;
            try
            {
                status = Translate(new Access(sid, ssid, iova, write), out ulong pa);
                if (status == DmaStatus.Ok && !(write ? _memory.TryWrite(pa, buffer[..chunk]) : _memory.TryRead(pa, buffer[..chunk])))
                {
                    status = DmaStatus.BusError;
                }
            }
            finally
            {
                _inFlight.Leave(slot);
            }

            if (status != DmaStatus.Ok)
            {
                SignalEvents(); // the transaction has completed (aborted); now its event's interrupt
                return status;
            }

            buffer = buffer[chunk..];
            iova += (ulong)chunk;
        }

        return DmaStatus.Ok;
    }

    /// <summary>Translates one access of the device with <paramref name="sid"/> at <paramref name="iova"/>.</summary>
    public DmaStatus Translate(uint sid, ulong iova, bool write, out ulong physicalAddress) =>
        Translate(sid, null, iova, write, out physicalAddress);

    /// <summary>Translates one access with SubstreamID <paramref name="ssid"/> (null: none), as one transaction.</summary>
    public DmaStatus Translate(uint sid, uint? ssid, ulong iova, bool write, out ulong physicalAddress)
    {
        CheckSubstreamId(ssid);
        int slot = _inFlight.Enter();
        DmaStatus status;
        try
        {
            status = Translate(new Access(sid, ssid, iova, write), out physicalAddress);
        }
        finally
        {
            _inFlight.Leave(slot);
        }

        if (status != DmaStatus.Ok)
        {
            SignalEvents();
        }

        return status;
    }

    /// <summary>An address with bits set above the OAS (IDR5.OAS, at most 52 bits).</summary>
    private bool BeyondOas(ulong address) => address >> Features.OutputAddressBits != 0;

    /// <summary>A SubstreamID is 20 bits wide (spec §3.3.2, the PASID width of PCIe).</summary>
    private static void CheckSubstreamId(uint? ssid) => ArgumentOutOfRangeException.ThrowIfGreaterThan(ssid ?? 0, MaxSubstreamId, nameof(ssid));

    private DmaStatus Translate(in Access access, out ulong physicalAddress)
    {
        physicalAddress = 0;
        ulong iova = access.Iova;
        if ((Cr0 & Cr0SmmuEn) == 0)
        {
            // SMMU disabled: GBPA decides (spec §6.3.14); an address beyond the OAS aborts without an event (§3.4).
            if ((_gbpa & GbpaAbort) != 0 || BeyondOas(iova))
            {
                return DmaStatus.Blocked;
            }

            physicalAddress = iova;
            return DmaStatus.Ok;
        }

        // Generations first: whatever this translation caches is dropped if an invalidation ran meanwhile.
        long configGeneration = ConfigCache.Generation;
        long tlbGeneration = Iotlb.Generation;
        var deviceAtc = _atcs.GetValueOrDefault(access.Sid);
        long atcGeneration = deviceAtc?.Generation ?? 0;
        if (!TryGetSte(access, configGeneration, out var ste))
        {
            return DmaStatus.Blocked;
        }

        if (ste.Config < StreamTableEntry.ConfigBypass)
        {
            return DmaStatus.Blocked; // 0b000 and the reserved 0b0xx: abort without an event (spec §5.2 Config)
        }

        if (!TrySelectSubstream(access, ste, out bool stage1, out uint cdIndex))
        {
            return DmaStatus.Blocked;
        }

        if (!stage1 && !ste.Stage2Enabled)
        {
            // Every stage bypassed (Config 0b100, or S1DSS = 0b01 without stage 2): an input address beyond the OAS
            // aborts with a stage-1 F_ADDR_SIZE, recorded whatever the STE says (spec §3.4).
            if (BeyondOas(iova))
            {
                return Fault(access, WalkResult.Failed(TranslationFault.AddressSize, 0), stage2: false, ClassIn, ipa: 0, record: true);
            }

            physicalAddress = iova;
            return DmaStatus.Ok;
        }

        // Stage 1 bypassed into stage 2: an input address beyond the IAS (= OAS here) is a stage-1 Address Size
        // fault before stage 2 sees it (spec §3.4.1; §5.2 S1DSS = 0b01), recorded as stage 2's faults are.
        if (!stage1 && BeyondOas(iova))
        {
            return Fault(access, WalkResult.Failed(TranslationFault.AddressSize, 0), stage2: false, ClassIn, ipa: 0, record: ste.S2R);
        }

        uint atcKey = access.Ssid ?? Atc.NoSubstream;
        var atc = ste.Eats == 1 ? deviceAtc : null;
        if (atc is not null && atc.TryLookup(atcKey, iova, out var cached))
        {
            return Use(cached, iova, access.Write, out physicalAddress);
        }

        ushort vmid = Features.Stage2 ? ste.S2Vmid : (ushort)0;
        var stage = stage1 ? (ste.Stage2Enabled ? TlbStage.Nested : TlbStage.Stage1) : TlbStage.Stage2;
        ContextDescriptor cd = default;
        int asid = TlbEntry.NoAsid;
        if (stage1)
        {
            if (!TryGetCd(access, ste, cdIndex, configGeneration, out cd))
            {
                return DmaStatus.Blocked;
            }

            asid = cd.Asid;
        }

        if (!Iotlb.TryLookup(vmid, asid, stage, iova, out var entry))
        {
            var fault = Walk(access, ste, cd, stage, vmid, out entry);
            if (fault != DmaStatus.Ok)
            {
                return fault;
            }

            Iotlb.TryInsert(entry, tlbGeneration);
        }

        atc?.TryInsert(atcKey, entry, atcGeneration);
        var status = Use(entry, iova, access.Write, out physicalAddress);
        if (status == DmaStatus.PermissionFault)
        {
            RecordPermissionFault(access, ste, cd, stage);
        }

        return status;
    }

    /// <summary>
    /// Which configuration a transaction uses (spec §5.2 S1CDMax and S1DSS). With a SubstreamID: the CD of that
    /// substream, or C_BAD_SUBSTREAMID when stage 1 is disabled, substreams are unsupported or disabled, or the
    /// SubstreamID is at least 2^S1CDMax; substream 0 under S1DSS = 0b10 is F_STREAM_DISABLED. Without one, when
    /// substreams are enabled: S1DSS terminates (0b00, and the reserved 0b11: F_STREAM_DISABLED), bypasses stage
    /// 1 (0b01) or uses the CD of substream 0 (0b10).
    /// </summary>
    private bool TrySelectSubstream(in Access access, in StreamTableEntry ste, out bool stage1, out uint cdIndex)
    {
        stage1 = ste.Stage1Enabled;
        cdIndex = 0;
        bool substreams = stage1 && Features.SsidBits != 0 && ste.S1CdMax != 0;
        if (access.Ssid is uint ssid)
        {
            if (!substreams || ssid >> ste.S1CdMax != 0)
            {
                RecordEvent(SmmuEvent.BadSubstream(access.Sid, ssid));
                return false;
            }

            if (ssid == 0 && ste.S1Dss == 2)
            {
                RecordEvent(SmmuEvent.Create(SmmuEventId.F_STREAM_DISABLED, access.Sid));
                return false;
            }

            cdIndex = ssid;
            return true;
        }

        if (substreams && ste.S1Dss != 2)
        {
            if (ste.S1Dss != 1)
            {
                RecordEvent(SmmuEvent.Create(SmmuEventId.F_STREAM_DISABLED, access.Sid));
                return false;
            }

            stage1 = false;
        }

        return true;
    }

    /// <summary>
    /// The F_PERMISSION of a cached entry that forbids the access (spec §7.3.16): at stage 1 (S2 = 0) or stage 2
    /// (S2 = 1, with the IPA), CLASS = IN. A combined nested entry holds only the intersection of both stages'
    /// permissions, so the walk is done again to find the stage that forbids it and the IPA.
    /// </summary>
    private void RecordPermissionFault(in Access access, in StreamTableEntry ste, in ContextDescriptor cd, TlbStage stage)
    {
        bool stage2 = stage == TlbStage.Stage2;
        ulong ipa = stage2 ? access.Iova : 0;
        if (stage == TlbStage.Nested)
        {
            int s2Bits = ConfigurationValidity.EffectiveSize(ste.S2Ps, Features);
            var viaStage2 = new Stage2Memory(_memory, ste, s2Bits);
            var s1 = PageTableWalker.Walk(ref viaStage2, cd.Format, cd.Ttb0, access.Iova, stage2: false, ConfigurationValidity.EffectiveSize(cd.Ips, Features));
            if (!s1.IsFault && (access.Write ? s1.Writable : s1.Readable))
            {
                stage2 = true;
                ipa = s1.Output(access.Iova);
            }
        }

        if (stage2 ? ste.S2R : cd.Record)
        {
            RecordEvent(SmmuEvent.Create(SmmuEventId.F_PERMISSION, access.Sid, access.Ssid, access.Iova, read: !access.Write, stage2: stage2, eventClass: ClassIn, ipa: ipa));
        }
    }

    private static DmaStatus Use(in TlbEntry entry, ulong iova, bool write, out ulong physicalAddress)
    {
        physicalAddress = entry.OutputBase | (iova & ((1UL << entry.Shift) - 1));
        return (write ? entry.Writable : entry.Readable) ? DmaStatus.Ok : DmaStatus.PermissionFault;
    }

    /// <summary>
    /// Walks the table(s) for a miss and builds the IOTLB entry; records the fault event on failure with the
    /// fields of spec §7.3.12–§7.3.16: S2 and CLASS (TT for a stage-2 fault or an abort of a stage-1 table access,
    /// IN otherwise), the IPA of a stage-2 fault, the FetchAddr of an abort. Stage 1 outputs are checked against
    /// CD.IPS and stage 2 outputs against STE.S2PS, each capped at the OAS.
    /// </summary>
    private DmaStatus Walk(in Access access, in StreamTableEntry ste, in ContextDescriptor cd, TlbStage stage, ushort vmid, out TlbEntry entry)
    {
        Interlocked.Increment(ref _walks);
        entry = default;
        ulong iova = access.Iova;
        int s2Bits = ConfigurationValidity.EffectiveSize(ste.S2Ps, Features);
        if (stage == TlbStage.Stage2)
        {
            var direct = new DirectMemory(_memory);
            var s2 = PageTableWalker.Walk(ref direct, ste.Stage2Format, ste.S2Ttb, iova, stage2: true, s2Bits);
            if (s2.IsFault)
            {
                return Fault(access, s2, stage2: true, ClassIn, ipa: iova, record: ste.S2R);
            }

            entry = new TlbEntry(vmid, TlbEntry.NoAsid, stage, iova & ~((1UL << s2.BlockShift) - 1), s2.BlockShift, s2.Level, s2.OutputBase, s2.Readable, s2.Writable);
            return DmaStatus.Ok;
        }

        if (cd.Epd0)
        {
            // EPD0: a TLB miss through TTB0 is a Translation fault without a walk (spec §5.4 EPD0, §5.4.1.1).
            return Fault(access, WalkResult.Failed(TranslationFault.Translation, 0), stage2: false, ClassIn, ipa: 0, record: cd.Record);
        }

        int ipsBits = ConfigurationValidity.EffectiveSize(cd.Ips, Features);
        WalkResult s1;
        if (stage == TlbStage.Stage1)
        {
            var direct = new DirectMemory(_memory);
            s1 = PageTableWalker.Walk(ref direct, cd.Format, cd.Ttb0, iova, stage2: false, ipsBits);
            if (s1.IsFault)
            {
                // An abort reading a stage-1 descriptor is CLASS = TT, unlike the other stage-1 faults (§7.3.12).
                int eventClass = s1.Fault == TranslationFault.WalkExternalAbort ? ClassTt : ClassIn;
                return Fault(access, s1, stage2: false, eventClass, ipa: 0, record: cd.Record);
            }

            int asid1 = s1.Global ? TlbEntry.NoAsid : cd.Asid;
            entry = new TlbEntry(vmid, asid1, stage, iova & ~((1UL << s1.BlockShift) - 1), s1.BlockShift, s1.Level, s1.OutputBase, s1.Readable, s1.Writable);
            return DmaStatus.Ok;
        }

        // Nested: every stage-1 table address is an IPA that stage 2 translates first.
        var viaStage2 = new Stage2Memory(_memory, ste, s2Bits);
        s1 = PageTableWalker.Walk(ref viaStage2, cd.Format, cd.Ttb0, iova, stage2: false, ipsBits);
        if (s1.IsFault)
        {
            bool atStage2 = viaStage2.FaultAtStage2;
            bool tableAccess = atStage2 || s1.Fault == TranslationFault.WalkExternalAbort;
            var reported = s1 with { FetchAddress = viaStage2.FetchAddress };
            return Fault(access, reported, atStage2, tableAccess ? ClassTt : ClassIn, ipa: viaStage2.FaultIpa, record: atStage2 ? ste.S2R : cd.Record);
        }

        ulong ipa = s1.Output(iova);
        var direct2 = new DirectMemory(_memory);
        var s2n = PageTableWalker.Walk(ref direct2, ste.Stage2Format, ste.S2Ttb, ipa, stage2: true, s2Bits);
        if (s2n.IsFault)
        {
            return Fault(access, s2n, stage2: true, ClassIn, ipa: ipa, record: ste.S2R);
        }

        int shift = Math.Min(s1.BlockShift, s2n.BlockShift);
        ulong inputBase = iova & ~((1UL << shift) - 1);
        ulong outputBase = s2n.Output(ipa) - (iova - inputBase);
        int asid = s1.Global ? TlbEntry.NoAsid : cd.Asid;
        entry = new TlbEntry(vmid, asid, stage, inputBase, shift, s1.Level, outputBase, s1.Readable && s2n.Readable, s1.Writable && s2n.Writable);
        return DmaStatus.Ok;
    }

    /// <summary>
    /// Records the event of a failed walk: the address and RnW are the transaction's (InputAddr, RnW), never
    /// those of the walk's own accesses, which are reads (TTRnW = 1 for a CLASS = TT Permission fault, §7.3.16);
    /// SSV and SubstreamID are the transaction's.
    /// </summary>
    private DmaStatus Fault(in Access access, in WalkResult walk, bool stage2, int eventClass, ulong ipa, bool record)
    {
        var id = walk.Fault switch
        {
            TranslationFault.AddressSize => SmmuEventId.F_ADDR_SIZE,
            TranslationFault.AccessFlag => SmmuEventId.F_ACCESS,
            TranslationFault.Permission => SmmuEventId.F_PERMISSION,
            TranslationFault.WalkExternalAbort => SmmuEventId.F_WALK_EABT,
            _ => SmmuEventId.F_TRANSLATION,
        };

        // External aborts are always recorded (FetchAddr, no IPA); the others when CD.R / STE.S2R say so (§5.5).
        if (id == SmmuEventId.F_WALK_EABT)
        {
            RecordEvent(SmmuEvent.Create(id, access.Sid, access.Ssid, access.Iova, read: !access.Write, stage2: stage2, eventClass: eventClass, fetchAddress: walk.FetchAddress));
        }
        else if (record)
        {
            bool tableRead = id == SmmuEventId.F_PERMISSION && eventClass == ClassTt;
            RecordEvent(SmmuEvent.Create(id, access.Sid, access.Ssid, access.Iova, read: !access.Write, stage2: stage2, eventClass: eventClass, ipa: stage2 ? ipa : 0, tableRead: tableRead));
        }

        return walk.Fault == TranslationFault.Permission ? DmaStatus.PermissionFault : DmaStatus.TranslationFault;
    }

    /// <summary>The STE of the access's StreamID: from the configuration cache, or fetched and checked.</summary>
    private bool TryGetSte(in Access access, long configGeneration, out StreamTableEntry ste)
    {
        uint sid = access.Sid;
        if (ConfigCache.TryGetSte(sid, out ste))
        {
            return true;
        }

        var location = LocateSte(sid, out ulong address);
        if (location == SteLocation.BadStreamId)
        {
            BadStreamId(access);
            return false;
        }

        if (location == SteLocation.L1FetchAbort || !TryReadSte(address, out ste))
        {
            RecordEvent(SmmuEvent.Create(SmmuEventId.F_STE_FETCH, sid, access.Ssid, fetchAddress: address));
            return false;
        }

        if (ConfigurationValidity.SteIllegal(ste, Features))
        {
            RecordEvent(SmmuEvent.Create(SmmuEventId.C_BAD_STE, sid, access.Ssid));
            return false;
        }

        ConfigCache.PutSte(sid, ste, configGeneration);
        return true;
    }

    /// <summary>Where the STE of a StreamID is, or why there is none.</summary>
    private enum SteLocation
    {
        Found,
        BadStreamId,
        L1FetchAbort,
    }

    /// <summary>
    /// The address of the STE of <paramref name="sid"/> in the stream table STRTAB_BASE(_CFG) describe: linear, or
    /// through the L1STD of a two-level table (for <see cref="SteLocation.L1FetchAbort"/>, the L1STD's address).
    /// </summary>
    private SteLocation LocateSte(uint sid, out ulong address)
    {
        address = 0;
        int log2Size = (int)(_strtabBaseCfg & 0x3F);
        int fmt = (int)((_strtabBaseCfg >> 16) & 0x3);
        int split = (int)((_strtabBaseCfg >> 6) & 0x1F);
        ulong tableBase = _strtabBase & StrtabBaseAddressMask;
        if (log2Size < 32 && sid >> log2Size != 0)
        {
            return SteLocation.BadStreamId;
        }

        if (fmt == 1 && Features.TwoLevelStreamTable)
        {
            address = tableBase + ((ulong)(sid >> split) * 8);
            if (!_memory.TryReadUInt64(address, out ulong l1))
            {
                return SteLocation.L1FetchAbort;
            }

            // L1STD.Span (spec §5.1.1): 0, the reserved 12..31 and a span beyond the split point (more than
            // SPLIT + 1) make every StreamID of the descriptor invalid, as does one beyond the span.
            int span = (int)(l1 & 0x1F);
            ulong index = sid & ((1UL << split) - 1);
            if (span is 0 or >= 12 || span > split + 1 || index >= 1UL << (span - 1))
            {
                return SteLocation.BadStreamId;
            }

            address = (l1 & StrtabBaseAddressMask) + (index * StreamTableEntry.Size);
        }
        else
        {
            address = tableBase + ((ulong)sid * StreamTableEntry.Size);
        }

        return SteLocation.Found;
    }

    /// <summary>
    /// Reads the four words of the STE at <paramref name="address"/> with one 64-bit read each, as an SMMU fetches:
    /// a driver that updates a live STE word by word in a hitless order (arm-smmu-v3.c arm_smmu_write_entry()) is
    /// never seen half-way through a word.
    /// </summary>
    private bool TryReadSte(ulong address, out StreamTableEntry ste)
    {
        ste = default;
        if (!_memory.TryReadUInt64(address, out ulong w0) || !_memory.TryReadUInt64(address + 8, out ulong w1)
            || !_memory.TryReadUInt64(address + 16, out ulong w2) || !_memory.TryReadUInt64(address + 24, out ulong w3))
        {
            return false;
        }

        ste = new StreamTableEntry(w0, w1, w2, w3);
        return true;
    }

    /// <summary>
    /// The CD at <paramref name="index"/> of the STE's CD table: cached, or fetched and checked. S1ContextPtr
    /// points at one CD (substreams disabled), a linear table of CDs, or an L1 table of L1CDs each pointing at a
    /// leaf table of 64 (S1Fmt = 0b01) or 1024 (0b10) CDs (spec §5.2 S1Fmt, §5.3). An L1CD with V = 0 is
    /// C_BAD_SUBSTREAMID (§5.3.1). L1CDs are not cached: each miss reads them again.
    /// </summary>
    private bool TryGetCd(in Access access, in StreamTableEntry ste, uint index, long configGeneration, out ContextDescriptor cd)
    {
        if (ConfigCache.TryGetCd(access.Sid, index, out cd))
        {
            return true;
        }

        ulong address = ste.S1ContextPtr;
        int split = ste.S1Fmt switch { 1 => 6, 2 => 10, _ => 0 };
        bool substreams = Features.SsidBits != 0 && ste.S1CdMax != 0;
        Span<byte> bytes = stackalloc byte[32];
        if (substreams && split != 0 && Features.TwoLevelCdTable)
        {
            ulong l1Address = address + ((ulong)(index >> split) * 8);
            if (!TryFetchConfig(access, ste, l1Address, bytes[..8]))
            {
                return false;
            }

            ulong l1 = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            if ((l1 & 1) == 0)
            {
                RecordEvent(SmmuEvent.BadSubstream(access.Sid, index));
                return false;
            }

            address = (l1 & L1CdL2PtrMask) + ((ulong)(index & ((1u << split) - 1)) * ContextDescriptor.Size);
        }
        else if (substreams)
        {
            address += (ulong)index * ContextDescriptor.Size;
        }

        if (!TryFetchConfig(access, ste, address, bytes))
        {
            return false;
        }

        cd = ContextDescriptor.Read(bytes);
        if (ConfigurationValidity.CdIllegal(ste, cd, Features))
        {
            RecordEvent(SmmuEvent.Create(SmmuEventId.C_BAD_CD, access.Sid, access.Ssid));
            return false;
        }

        ConfigCache.PutCd(access.Sid, index, cd, configGeneration);
        return true;
    }

    /// <summary>
    /// Reads an L1CD or a CD at <paramref name="address"/>, through stage 2 for a nested STE (the address is
    /// then an IPA). A stage-2 fault of the fetch is CLASS = CD with that IPA and the transaction's address and
    /// RnW (spec §7.3.13); an abort reading it is F_CD_FETCH with its FetchAddr (§7.3.10).
    /// </summary>
    private bool TryFetchConfig(in Access access, in StreamTableEntry ste, ulong address, Span<byte> bytes)
    {
        if (ste.Stage2Enabled)
        {
            var direct = new DirectMemory(_memory);
            var s2 = PageTableWalker.Walk(ref direct, ste.Stage2Format, ste.S2Ttb, address, stage2: true, ConfigurationValidity.EffectiveSize(ste.S2Ps, Features));
            if (!s2.IsFault && !s2.Readable)
            {
                s2 = WalkResult.Failed(TranslationFault.Permission, s2.Level);
            }

            if (s2.IsFault)
            {
                Fault(access, s2, stage2: true, ClassCd, ipa: address, record: ste.S2R);
                return false;
            }

            address = s2.Output(address);
        }

        if (!_memory.TryRead(address, bytes))
        {
            RecordEvent(SmmuEvent.Create(SmmuEventId.F_CD_FETCH, access.Sid, access.Ssid, fetchAddress: address));
            return false;
        }

        return true;
    }

    /// <summary>A StreamID that reaches no STE: C_BAD_STREAMID only when CR2.RECINVSID asks for it (spec §6.3.12).</summary>
    private void BadStreamId(in Access access)
    {
        if ((Volatile.Read(ref _cr2) & Cr2RecInvSid) != 0)
        {
            RecordEvent(SmmuEvent.Create(SmmuEventId.C_BAD_STREAMID, access.Sid, access.Ssid));
        }
    }

    /// <summary>One client access: StreamID, SubstreamID (null: SSV = 0), input address and direction.</summary>
    private readonly record struct Access(uint Sid, uint? Ssid, ulong Iova, bool Write);

    /// <summary>Reads descriptors straight from physical memory.</summary>
    private readonly struct DirectMemory(PhysicalMemory memory) : ITableMemory
    {
        public TranslationFault TryRead(ulong address, out ulong descriptor) =>
            memory.TryReadUInt64(address, out descriptor) ? TranslationFault.None : TranslationFault.WalkExternalAbort;
    }

    /// <summary>
    /// Reads stage-1 descriptors whose addresses are IPAs, translating each through stage 2; keeps what an event
    /// needs of a failure: whether stage 2 failed (with the descriptor's IPA) and, for an abort, the address
    /// that could not be read (a stage-2 descriptor, or the stage-1 descriptor's PA).
    /// </summary>
    private struct Stage2Memory(PhysicalMemory memory, StreamTableEntry ste, int outputBits) : ITableMemory
    {
        public bool FaultAtStage2 { get; private set; }

        public ulong FaultIpa { get; private set; }

        public ulong FetchAddress { get; private set; }

        public TranslationFault TryRead(ulong address, out ulong descriptor)
        {
            var direct = new DirectMemory(memory);
            var s2 = PageTableWalker.Walk(ref direct, ste.Stage2Format, ste.S2Ttb, address, stage2: true, outputBits);
            if (s2.IsFault || !s2.Readable)
            {
                FaultAtStage2 = true;
                FaultIpa = address;
                FetchAddress = s2.FetchAddress;
                descriptor = 0;
                return s2.IsFault ? s2.Fault : TranslationFault.Permission;
            }

            ulong pa = s2.Output(address);
            var read = direct.TryRead(pa, out descriptor);
            FetchAddress = read == TranslationFault.None ? 0 : pa;
            return read;
        }
    }
}
