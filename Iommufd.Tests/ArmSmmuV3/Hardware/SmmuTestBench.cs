using System.Buffers.Binary;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;

namespace Iommufd.Tests.ArmSmmuV3.Hardware;

/// <summary>
/// Drives an <see cref="SmmuV3"/> the way a driver does: tables and queues in physical memory, programmed through
/// the register file. Sets up a linear stream table, a command queue and an event queue, writes STEs and CDs, and
/// pushes commands (entries written at the software PROD, then PROD rung).
/// </summary>
internal sealed class SmmuTestBench : IDisposable
{
    /// <summary>log2 of the number of STEs in the linear stream table.</summary>
    public const int StreamTableLog2 = 6;

    /// <summary>An address below the first DRAM bank: never backed.</summary>
    public const ulong UnbackedAddress = 0x1000_0000;

    public const uint Cr0SmmuEn = 1 << 0;
    public const uint Cr0EventqEn = 1 << 2;
    public const uint Cr0CmdqEn = 1 << 3;
    public const uint Cr2RecInvSid = 1 << 1;
    public const uint IrqCtrlGerrorIrqEn = 1 << 0;
    public const uint IrqCtrlEventqIrqEn = 1 << 2;
    public const uint OverflowFlag = 1u << 31;

    /// <summary>Stage-2 layout used by every S2 and nested STE here: 4K granule, 39-bit IPA, walk from level 1.</summary>
    public static readonly TableFormat Stage2Format = new(TranslationGranule.Size4K, 39, 1);

    /// <summary>Stage-1 layout used by every CD here: 4K granule, T0SZ = 16 (48-bit VA, walk from level 0).</summary>
    public static readonly TableFormat Stage1Format = TableFormat.ForInputBits(TranslationGranule.Size4K, 48);

    private uint _cmdqProd;
    private uint _eventqCons;

    public SmmuTestBench(SmmuV3Features? features = null, int cmdqLog2 = 5, int eventqLog2 = 4, ExecutionMode mode = ExecutionMode.Inline, bool enable = true)
    {
        Features = features ?? new SmmuV3Features();
        Memory = new PhysicalMemory();
        Smmu = new SmmuV3("smmu-test", Features, Memory, mode);
        Smmu.Interrupt += i =>
        {
            lock (Interrupts)
            {
                Interrupts.Add(i);
            }
        };
        CmdqLog2 = cmdqLog2;
        EventqLog2 = eventqLog2;
        StreamTable = Memory.Allocate(StreamTableEntry.Size << StreamTableLog2);
        CommandQueueBank = AllocateAligned(Math.Max(16 << cmdqLog2, 32));
        EventQueueBank = AllocateAligned(SmmuEvent.Size << eventqLog2);
        MsiBank = Memory.Allocate(PhysicalMemory.PageSize);
        Tables = new PhysicalTableStore(Memory);
        if (enable)
        {
            Enable();
        }
    }

    public SmmuV3Features Features { get; }

    public PhysicalMemory Memory { get; }

    public SmmuV3 Smmu { get; }

    public PhysicalBank StreamTable { get; }

    public PhysicalBank CommandQueueBank { get; }

    public PhysicalBank EventQueueBank { get; }

    /// <summary>A page that CMD_SYNC MSIs can be pointed at.</summary>
    public PhysicalBank MsiBank { get; }

    /// <summary>Host-physical table memory for stage-1 and stage-2 page tables.</summary>
    public PhysicalTableStore Tables { get; }

    public int CmdqLog2 { get; }

    public int EventqLog2 { get; }

    /// <summary>Every interrupt the SMMU raised, in order.</summary>
    public List<SmmuInterrupt> Interrupts { get; } = [];

    /// <summary>The software copy of CMDQ_PROD (where the next entry goes).</summary>
    public uint SoftwareProd => _cmdqProd;

    public uint CmdqProd => (uint)Smmu.ReadRegister((uint)SmmuRegister.CMDQ_PROD);

    public uint CmdqCons => (uint)Smmu.ReadRegister((uint)SmmuRegister.CMDQ_CONS);

    /// <summary>CMDQ_CONS.RD: index and wrap bit.</summary>
    public uint CmdqConsRd => CmdqCons & 0xF_FFFF;

    /// <summary>CMDQ_CONS.ERR [30:24].</summary>
    public uint CmdqConsErr => (CmdqCons >> 24) & 0x7F;

    public uint Gerror => (uint)Smmu.ReadRegister((uint)SmmuRegister.GERROR);

    public uint Gerrorn => (uint)Smmu.ReadRegister((uint)SmmuRegister.GERRORN);

    public uint EventqProd => (uint)Smmu.ReadRegister((uint)SmmuRegister.EVENTQ_PROD);

    public uint EventqCons => (uint)Smmu.ReadRegister((uint)SmmuRegister.EVENTQ_CONS);

    public static StreamTableEntry AbortSte() => new(1 | (StreamTableEntry.ConfigAbort << 1), 0, 0, 0);

    public static StreamTableEntry BypassSte() => new(1 | (StreamTableEntry.ConfigBypass << 1), 0, 0, 0);

    /// <summary>Stage 1 only; <paramref name="eats"/> 1 lets an ATS endpoint cache translations.</summary>
    public static StreamTableEntry Stage1Ste(ulong cdAddress, ushort vmid = 0, ulong eats = 0) =>
        new(1 | (StreamTableEntry.ConfigS1Translate << 1) | cdAddress, eats << 28, vmid, 0);

    public static StreamTableEntry Stage2Ste(ushort vmid, ulong s2ttb, bool record = true) =>
        new(1 | (StreamTableEntry.ConfigS2Translate << 1), 0, Stage2Word2(vmid, record), s2ttb);

    /// <summary>Nested: <paramref name="cdIpa"/> is the CD's IPA, translated by the stage-2 table at <paramref name="s2ttb"/>.</summary>
    public static StreamTableEntry NestedSte(ulong cdIpa, ushort vmid, ulong s2ttb, bool record = true) =>
        new(1 | (StreamTableEntry.ConfigNested << 1) | cdIpa, 0, Stage2Word2(vmid, record), s2ttb);

    /// <summary>An AArch64 CD: T0SZ 16, 4K granule, EPD1 (no TTB1), IPS 48 bits, AA64, A = 1, R as asked.</summary>
    public static ContextDescriptor Cd(ushort asid, ulong ttb0, bool record = true)
    {
        ulong w0 = 16UL /* T0SZ */ | (1UL << 30) /* EPD1 */ | (1UL << 31) /* V */ | (5UL << 32) /* IPS 48 bits */ | (1UL << 41) /* AA64 */
            | (record ? 1UL << 45 : 0) /* R */ | (1UL << 46) /* A */ | ((ulong)asid << 48);
        return new ContextDescriptor(w0, ttb0, 0, 0);
    }

    /// <summary>Programs the stream table, both queues and CR0 (SMMUEN, EVENTQEN, CMDQEN).</summary>
    public void Enable(uint irqCtrl = 0)
    {
        Write(SmmuRegister.STRTAB_BASE, StreamTable.BaseAddress, 8);
        Write(SmmuRegister.STRTAB_BASE_CFG, StreamTableLog2); // FMT = 0: linear
        Write(SmmuRegister.CMDQ_BASE, CommandQueueBank.BaseAddress | (uint)CmdqLog2, 8);
        Write(SmmuRegister.CMDQ_PROD, 0);
        Write(SmmuRegister.CMDQ_CONS, 0);
        Write(SmmuRegister.EVENTQ_BASE, EventQueueBank.BaseAddress | (uint)EventqLog2, 8);
        Write(SmmuRegister.EVENTQ_PROD, 0);
        Write(SmmuRegister.EVENTQ_CONS, 0);
        Write(SmmuRegister.IRQ_CTRL, irqCtrl);
        Write(SmmuRegister.CR2, Cr2RecInvSid);
        Write(SmmuRegister.CR0, Cr0SmmuEn | Cr0EventqEn | Cr0CmdqEn);
        _cmdqProd = 0;
        _eventqCons = 0;
    }

    public void Write(SmmuRegister register, ulong value, int size = 4) => Smmu.WriteRegister((uint)register, value, size);

    public ulong Read(SmmuRegister register, int size = 4) => Smmu.ReadRegister((uint)register, size);

    public void WriteSte(uint sid, in StreamTableEntry ste)
    {
        Span<byte> bytes = stackalloc byte[StreamTableEntry.Size];
        ste.Write(bytes);
        bytes.CopyTo(StreamTable.Span[(int)(sid * StreamTableEntry.Size)..]);
    }

    /// <summary>Allocates a page for <paramref name="cd"/> and writes it there; returns its address.</summary>
    public ulong WriteCd(in ContextDescriptor cd)
    {
        var bank = Memory.Allocate(PhysicalMemory.PageSize);
        cd.Write(bank.Span);
        return bank.BaseAddress;
    }

    /// <summary>A stage-1 table in host memory, in the layout of <see cref="Cd"/>.</summary>
    public AArch64PageTable NewStage1Table() => new(Tables, Stage1Format, stage2: false);

    public AArch64PageTable NewStage2Table() => new(Tables, Stage2Format, stage2: true);

    /// <summary>A page filled with <paramref name="fill"/>.</summary>
    public PhysicalBank DataPage(byte fill)
    {
        var page = Memory.Allocate(PhysicalMemory.PageSize);
        page.Span.Fill(fill);
        return page;
    }

    /// <summary>Writes <paramref name="command"/> into the command-queue slot of <paramref name="position"/>.</summary>
    public void WriteCommand(uint position, in SmmuCommand command)
    {
        uint index = position & ((1u << CmdqLog2) - 1);
        command.Write(CommandQueueBank.Span[(int)(index * 16)..]);
    }

    /// <summary>Writes the commands at the software PROD and rings CMDQ_PROD once; returns the new PROD.</summary>
    public uint Submit(params SmmuCommand[] commands)
    {
        foreach (var command in commands)
        {
            WriteCommand(_cmdqProd, command);
            _cmdqProd = AdvanceCmdq(_cmdqProd, 1);
        }

        RingProd();
        return _cmdqProd;
    }

    /// <summary>Sets the software PROD (e.g. back to CONS while an error is active, spec §7.1) and rings it.</summary>
    public void MoveProdTo(uint position)
    {
        _cmdqProd = position;
        RingProd();
    }

    /// <summary>Writes the software PROD to CMDQ_PROD (a doorbell without new entries when nothing was added).</summary>
    public void RingProd() => Write(SmmuRegister.CMDQ_PROD, _cmdqProd);

    public uint AdvanceCmdq(uint position, uint count) => (position + count) & ((2u << CmdqLog2) - 1);

    /// <summary>Acknowledges every active global error: GERRORN = GERROR.</summary>
    public void AcknowledgeErrors() => Write(SmmuRegister.GERRORN, Gerror);

    /// <summary>A CMD_SYNC that writes <paramref name="data"/> to MSI slot <paramref name="slot"/> (one 32-bit word each).</summary>
    public SmmuCommand SyncWithMsi(int slot, uint data) =>
        SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_IRQ, MsiBank.BaseAddress + (ulong)(slot * 4), data);

    public uint ReadMsi(int slot) => BinaryPrimitives.ReadUInt32LittleEndian(MsiBank.Span[(slot * 4)..]);

    /// <summary>The raw 64-bit word <paramref name="word"/> of event-queue slot <paramref name="index"/>.</summary>
    public ulong EventWord(uint index, int word)
    {
        uint slot = index & ((1u << EventqLog2) - 1);
        return BinaryPrimitives.ReadUInt64LittleEndian(EventQueueBank.Span[(int)((slot * SmmuEvent.Size) + (uint)(word * 8))..]);
    }

    /// <summary>
    /// Reads the records between the software CONS and EVENTQ_PROD, then writes CONS past them (keeping OVACKFLG
    /// equal to PROD.OVFLG, which acknowledges any overflow).
    /// </summary>
    public List<SmmuEvent> DrainEvents()
    {
        var events = new List<SmmuEvent>();
        uint mask = (2u << EventqLog2) - 1;
        uint prod = EventqProd;
        while ((_eventqCons & mask) != (prod & mask))
        {
            events.Add(new SmmuEvent(EventWord(_eventqCons, 0), EventWord(_eventqCons, 1), EventWord(_eventqCons, 2), EventWord(_eventqCons, 3)));
            _eventqCons = (_eventqCons + 1) & mask;
        }

        Write(SmmuRegister.EVENTQ_CONS, (prod & OverflowFlag) | _eventqCons);
        return events;
    }

    /// <summary>One DMA read of <paramref name="length"/> bytes; the bytes read are returned through <paramref name="data"/>.</summary>
    public DmaStatus DmaRead(uint sid, ulong iova, out byte[] data, int length = 64)
    {
        data = new byte[length];
        return Smmu.Dma(sid, iova, data, DmaDirection.Read);
    }

    /// <summary>One 64-byte DMA read with SubstreamID <paramref name="ssid"/>.</summary>
    public DmaStatus DmaRead(uint sid, uint ssid, ulong iova) => Smmu.Dma(sid, ssid, iova, new byte[64], DmaDirection.Read);

    public DmaStatus DmaWrite(uint sid, ulong iova, byte fill, int length = 64)
    {
        var data = new byte[length];
        Array.Fill(data, fill);
        return Smmu.Dma(sid, iova, data, DmaDirection.Write);
    }

    public void Dispose() => Smmu.Dispose();

    private static ulong Stage2Word2(ushort vmid, bool record)
    {
        // S2T0SZ 25 (39 bits), S2SL0 1 (level 1), S2TG 0 (4K), S2PS 5 (48 bits), S2AA64, S2R.
        return vmid | (25UL << 32) | (1UL << 38) | (0UL << 46) | (5UL << 48) | (1UL << 51) | (record ? 1UL << 58 : 0);
    }

    private PhysicalBank AllocateAligned(int length) =>
        Memory.Allocate(length, (ulong)Math.Max(PhysicalMemory.PageSize, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length)));
}
