using System.Buffers.Binary;

namespace Iommufd.ArmSmmuV3.Hardware;

// Command execution (spec §4): legality first (CERROR_ILL for what this implementation cannot take), then the
// effect on the caches. Everything a command does to the caches is done when it returns; a CMD_SYNC completes
// once the client transactions that were in flight when it was reached have finished (they may have translated
// through an entry just removed), unless an ATC invalidation before it timed out.
internal sealed partial class SmmuV3 : ICommandExecutor
{
    /// <summary>Largest SCALE used: with IDR5.DS, SCALE has six bits and values above 39 are treated as 39 (spec §4.4.1.1).</summary>
    private const int MaxScale = 39;

    public CommandError Execute(in SmmuCommand command, CommandQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var error = SmmuCommandLegality.CheckLegal(command, Features);
        if (error != CommandError.CERROR_NONE)
        {
            return error;
        }

        if (command.Opcode == SmmuOpcode.CMD_SYNC)
        {
            return Sync(command, queue);
        }

        // A TLBI that finds the TLB idle removes nothing, and every transaction in flight at a later CMD_SYNC entered
        // after its check and so used no translation it could have named: it gives the sync nothing to wait for.
        if (IsTlbInvalidation(command.Opcode) && Iotlb.Idle)
        {
            return CommandError.CERROR_NONE;
        }

        queue.SyncMustWait = true;
        switch (command.Opcode)
        {
            case SmmuOpcode.PREFETCH_CONFIG:
            case SmmuOpcode.PREFETCH_ADDR:
            case SmmuOpcode.CFGI_VMS_PIDM:
            case SmmuOpcode.TLBI_EL2_ALL:
            case SmmuOpcode.TLBI_EL2_ASID:
            case SmmuOpcode.TLBI_EL2_VA:
            case SmmuOpcode.TLBI_EL2_VAA:
            case SmmuOpcode.PRI_RESP:
            case SmmuOpcode.RESUME:
            case SmmuOpcode.STALL_TERM:
                return CommandError.CERROR_NONE; // legal, and nothing of what they touch is modelled

            case SmmuOpcode.CFGI_STE:
                ConfigCache.InvalidateStes(command.StreamId, command.StreamId);
                CheckSteUpdate(command.StreamId);
                return CommandError.CERROR_NONE;
            case SmmuOpcode.CFGI_STE_RANGE:
                uint span = command.Range >= 31 ? uint.MaxValue : (2u << command.Range) - 1;
                uint first = command.StreamId & ~span;
                ConfigCache.InvalidateStes(first, first | span);
                ForgetSteUpdates(first, first | span);
                return CommandError.CERROR_NONE;
            case SmmuOpcode.CFGI_CD:
                ConfigCache.InvalidateCds(command.StreamId, command.SubstreamId);
                return CommandError.CERROR_NONE;
            case SmmuOpcode.CFGI_CD_ALL:
                ConfigCache.InvalidateCds(command.StreamId, null);
                return CommandError.CERROR_NONE;

            case SmmuOpcode.TLBI_NH_ALL:
                Iotlb.InvalidateVmidStage1(CommandVmid(command));
                return CommandError.CERROR_NONE;
            case SmmuOpcode.TLBI_NH_ASID:
                Iotlb.InvalidateAsid(CommandVmid(command), command.Asid);
                return CommandError.CERROR_NONE;
            case SmmuOpcode.TLBI_NH_VA:
            case SmmuOpcode.TLBI_NH_VAA:
            {
                var (start, last, onlyShift) = InvalidationRange(command, command.Address);
                int? asid = command.Opcode == SmmuOpcode.TLBI_NH_VA ? command.Asid : null;
                Iotlb.InvalidateVa(CommandVmid(command), asid, start, last, onlyShift);
                return CommandError.CERROR_NONE;
            }

            case SmmuOpcode.TLBI_S12_VMALL:
                Iotlb.InvalidateVmid(command.Vmid);
                return CommandError.CERROR_NONE;
            case SmmuOpcode.TLBI_S2_IPA:
            {
                var (start, last, onlyShift) = InvalidationRange(command, command.IpaAddress);
                Iotlb.InvalidateIpa(command.Vmid, start, last, onlyShift);
                return CommandError.CERROR_NONE;
            }

            case SmmuOpcode.TLBI_NSNH_ALL:
                Iotlb.InvalidateAll();
                return CommandError.CERROR_NONE;

            case SmmuOpcode.ATC_INV:
                InvalidateAtc(command, queue);
                return CommandError.CERROR_NONE;

            default:
                return CommandError.CERROR_ILL;
        }
    }

    /// <summary>The TLBIs whose whole effect is on the IOTLB.</summary>
    private static bool IsTlbInvalidation(SmmuOpcode opcode) => opcode is SmmuOpcode.TLBI_NH_ALL or SmmuOpcode.TLBI_NH_ASID
        or SmmuOpcode.TLBI_NH_VA or SmmuOpcode.TLBI_NH_VAA or SmmuOpcode.TLBI_S12_VMALL or SmmuOpcode.TLBI_S2_IPA
        or SmmuOpcode.TLBI_NSNH_ALL;

    private int EffectiveTtl(in SmmuCommand command) => RangeInvalidation.EffectiveTtl(command, Features.Ds);

    /// <summary>The VMID a stage-1 TLBI applies to: the command's, or 0 when stage 2 is not implemented.</summary>
    private ushort CommandVmid(in SmmuCommand command) => Features.Stage2 ? command.Vmid : (ushort)0;

    /// <summary>
    /// The address range of a TLBI by address and the block size TTL restricts it to (0: any). TG = 0 names one
    /// address; otherwise (NUM + 1) × 2^SCALE granules from the address.
    /// </summary>
    private (ulong Start, ulong Last, int OnlyShift) InvalidationRange(in SmmuCommand command, ulong address)
    {
        if (command.Tg == 0)
        {
            return (address, address, 0);
        }

        int granuleShift = 10 + (2 * command.Tg); // 1: 4K, 2: 16K, 3: 64K
        int ttl = EffectiveTtl(command);
        int onlyShift = ttl == 0 ? 0 : new TableFormat((TranslationGranule)granuleShift, 48, 0).BlockShift(ttl);
        ulong start = address & ~((1UL << granuleShift) - 1);
        int scale = Math.Min((int)command.Scale, MaxScale);
        int shift = scale + granuleShift;
        ulong num = (ulong)command.Num + 1;
        if (shift >= 64 || num > (ulong.MaxValue >> shift))
        {
            return (start, ulong.MaxValue, onlyShift);
        }

        ulong length = num << shift;
        ulong last = start + length - 1;
        return (start, last < start ? ulong.MaxValue : last, onlyShift);
    }

    /// <summary>
    /// ATC_INV: the span is 4 KiB × 2^Size aligned at the address (Size 52: everything). A device that does not
    /// answer leaves the invalidation incomplete; the next CMD_SYNC on this queue reports it.
    /// </summary>
    private void InvalidateAtc(in SmmuCommand command, CommandQueue queue)
    {
        if (!_endpoints.TryGetValue(command.StreamId, out var device) || !device.AtsCapable)
        {
            return; // no ATS endpoint there: nothing is cached
        }

        if (device.AtsInvalidationsTimeOut)
        {
            queue.AtcInvalidationTimedOut = true;
            return;
        }

        ulong start = 0, last = ulong.MaxValue;
        if (command.AtcSize < 52)
        {
            int shift = 12 + command.AtcSize;
            start = command.Address & ~((1UL << shift) - 1);
            last = start + ((1UL << shift) - 1);
        }

        // Global is IGNORED when SSV = 0 (spec §4.5.1).
        _atcs[command.StreamId].Invalidate(command.SSV ? command.SubstreamId : null, start, last, command.SSV && command.Global);
    }

    /// <summary>
    /// CMD_SYNC: completes at once (everything before it already took effect) and signals as CS asks: for SIG_IRQ
    /// an MSI write of MSIData to MSIAddr (with MSIs and a non-zero MSIAddr) and the wired CMD_SYNC interrupt, or
    /// for SIG_SEV a SEV.
    /// </summary>
    private CommandError Sync(in SmmuCommand command, CommandQueue queue)
    {
        if (queue.AtcInvalidationTimedOut)
        {
            queue.AtcInvalidationTimedOut = false; // the error reports it; the re-executed CMD_SYNC completes
            return CommandError.CERROR_ATC_INV_SYNC;
        }

        // Completion means no transaction still uses what the invalidations before it removed (spec §3.21); after
        // nothing but TLBIs that found the TLB idle, none can (see Execute).
        if (queue.SyncMustWait)
        {
            _inFlight.WaitForEarlier();
            queue.SyncMustWait = false;
        }

        bool main = ReferenceEquals(queue, CommandQueue); // its counts have one writer (see the fields)
        Count(ref _mainSyncs, _syncsCompleted, main);
        switch (command.Cs)
        {
            case SmmuCommand.CS_SIG_IRQ:
                if (Features.Msi && command.MsiAddress != 0)
                {
                    Span<byte> data = stackalloc byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(data, command.MsiData);
                    if (!_memory.TryWrite(command.MsiAddress, data))
                    {
                        RaiseGlobalError(GlobalError.MSI_CMDQ_ABT_ERR);
                    }
                }

                // The wired CMD_SYNC output is asserted whatever MSIAddress holds (spec §4.7.3, SIG_IRQ).
                Raise(SmmuInterrupt.CmdSync);
                break;
            case SmmuCommand.CS_SIG_SEV when Features.Sev:
                Count(ref _mainSev, _sevSent, main);
                break;
        }

        return CommandError.CERROR_NONE;
    }

    private static void Count(ref long single, StripedCount shared, bool singleWriter)
    {
        if (singleWriter)
        {
            Volatile.Write(ref single, single + 1);
        }
        else
        {
            shared.Increment();
        }
    }
}
