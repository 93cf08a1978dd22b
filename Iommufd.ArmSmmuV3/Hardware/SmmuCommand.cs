using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandLayout;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// One 16-byte SMMUv3 command-queue entry as two little-endian words: <see cref="Word0"/> holds bits [63:0] and
/// <see cref="Word1"/> bits [127:64] (Arm IHI 0070 §4.1.1; arm-smmu-v3.h CMDQ_*).
/// </summary>
/// <remarks>
/// <para>
/// Every field has a property that reads its bits whatever the opcode; a property is meaningful only for the opcodes
/// that define its field (see <see cref="SmmuCommandLayout"/>), and several fields share bits: StreamID, VMID,
/// MSIData (w0[63:32]); NUM, CS, Ac/Ab (w0[13:12]); Range, Size, PRGIndex, STAG (w1 low bits).
/// </para>
/// <para>
/// The struct is two sequential <see cref="ulong"/>s, so on a little-endian host a queue's bytes can be reinterpreted
/// in place with <see cref="MemoryMarshal.Cast{TFrom, TTo}(Span{TFrom})"/>; <see cref="Read"/> and
/// <see cref="Write"/> are the endianness-safe path. Nothing here allocates except <see cref="ToString"/>.
/// </para>
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Field-value constants keep the specification's mnemonics.")]
public readonly struct SmmuCommand : IEquatable<SmmuCommand>
{
    /// <summary>TG = 0: any granule; no range and no TTL hint.</summary>
    public const byte TG_ANY = 0;

    /// <summary>TG = 1: 4 KB translation granule.</summary>
    public const byte TG_4K = 1;

    /// <summary>TG = 2: 16 KB translation granule.</summary>
    public const byte TG_16K = 2;

    /// <summary>TG = 3: 64 KB translation granule.</summary>
    public const byte TG_64K = 3;

    /// <summary>CMD_SYNC CS = 0: no completion signal.</summary>
    public const byte CS_SIG_NONE = 0;

    /// <summary>CMD_SYNC CS = 1: signal completion with an interrupt (an MSI write to MSIAddress if MSIs are used).
    /// </summary>
    public const byte CS_SIG_IRQ = 1;

    /// <summary>CMD_SYNC CS = 2: signal completion with a WFE wake-up event.</summary>
    public const byte CS_SIG_SEV = 2;

    /// <summary>CMD_SYNC MSH = 3: Inner Shareable, as Linux sends.</summary>
    public const byte MSH_ISH = 3;

    /// <summary>CMD_SYNC MSIAttr = 0xF: Normal memory, Outer and Inner Write-Back cacheable, as Linux sends.</summary>
    public const byte MSIATTR_OIWB = 0xF;

    /// <summary>PRI_RESP Resp = 0: Failure.</summary>
    public const byte RESP_FAILURE = 0;

    /// <summary>PRI_RESP Resp = 1: InvalidRequest.</summary>
    public const byte RESP_INVALID = 1;

    /// <summary>PRI_RESP Resp = 2: Success.</summary>
    public const byte RESP_SUCCESS = 2;

    private readonly ulong _word0;
    private readonly ulong _word1;

    /// <summary>Wraps two raw words; nothing is checked, so any 128-bit pattern can be represented.</summary>
    public SmmuCommand(ulong word0, ulong word1)
    {
        _word0 = word0;
        _word1 = word1;
    }

    /// <summary>Bits [63:0] of the entry.</summary>
    public ulong Word0 => _word0;

    /// <summary>Bits [127:64] of the entry.</summary>
    public ulong Word1 => _word1;

    /// <summary>Opcode, w0[7:0]. May be a value that is not a member of <see cref="SmmuOpcode"/>.</summary>
    public SmmuOpcode Opcode => (SmmuOpcode)(byte)_word0;

    /// <summary>SSec, w0[10]: the StreamID is Secure. Illegal on the Non-secure queue (spec §4.1.6).</summary>
    public bool SSec => (_word0 & W0_SSEC) != 0;

    /// <summary>SSV, w0[11]: <see cref="SubstreamId"/> is valid.</summary>
    public bool SSV => (_word0 & W0_SSV) != 0;

    /// <summary>SubstreamID, w0[31:12] (20 bits).</summary>
    public uint SubstreamId => (uint)((_word0 & W0_SSID) >> 12);

    /// <summary>StreamID, w0[63:32].</summary>
    public uint StreamId => (uint)(_word0 >> 32);

    /// <summary>VMID, w0[47:32], in TLBI and CFGI_VMS_PIDM commands.</summary>
    public ushort Vmid => (ushort)(_word0 >> 32);

    /// <summary>ASID, w0[63:48], in TLBI commands.</summary>
    public ushort Asid => (ushort)(_word0 >> 48);

    /// <summary>
    /// NUM, w0[16:12]: range-TLBI multiplier; the range is (NUM + 1) × 2^SCALE granules (spec §4.4.1.1).
    /// </summary>
    public byte Num => (byte)((_word0 & W0_NUM) >> 12);

    /// <summary>
    /// SCALE, the raw six bits w0[25:20]. The field is five bits, [24:20], unless IDR5.DS = 1, when bit 25 is its
    /// sixth bit; without DS bit 25 is RES0 and checking it is the hardware model's job. Values above 39 act as 39.
    /// </summary>
    public byte Scale => (byte)((_word0 & W0_SCALE) >> 20);

    /// <summary>Leaf, w1[0]: in TLBI, only last-level entries; in CFGI_STE/CFGI_CD, not the L1 descriptors.</summary>
    public bool Leaf => (_word1 & W1_LEAF) != 0;

    /// <summary>TTL128, w1[7]: the TTL hint refers to 128-bit descriptors (newer spec revisions).</summary>
    public bool Ttl128 => (_word1 & W1_TTL128) != 0;

    /// <summary>TTL, w1[9:8]: translation-table level hint; 0 = no hint.</summary>
    public byte Ttl => (byte)((_word1 & W1_TTL) >> 8);

    /// <summary>TG, w1[11:10]: 0 = any granule, 1 = 4K, 2 = 16K, 3 = 64K.</summary>
    public byte Tg => (byte)((_word1 & W1_TG) >> 10);

    /// <summary>Virtual address, w1[63:12], with bits [11:0] as zero (TLBI by VA, ATC_INV, PREFETCH_ADDR).</summary>
    public ulong Address => _word1 & W1_VA;

    /// <summary>
    /// Physical or intermediate physical address, w1[55:12], with bits [11:0] as zero (TLBI_S2_IPA, TLBI_S_S2_IPA,
    /// DPTI_PA).
    /// </summary>
    public ulong IpaAddress => _word1 & W1_PA;

    /// <summary>CFGI_STE_RANGE Range, w1[4:0]: 2^(Range+1) StreamIDs; 31 is CFGI_ALL.</summary>
    public byte Range => (byte)(_word1 & W1_RANGE);

    /// <summary>ATC_INV Global, w0[9]: all SubstreamIDs as well; ignored when SSV = 0.</summary>
    public bool Global => (_word0 & W0_GLOBAL) != 0;

    /// <summary>ATC_INV Size, w1[5:0]: a span of 4 KB × 2^Size; 52 means everything.</summary>
    public byte AtcSize => (byte)(_word1 & W1_ATC_SIZE);

    /// <summary>PREFETCH_ADDR Size, w1[4:0]: 2^Size translations.</summary>
    public byte PrefetchSize => (byte)(_word1 & W1_PREFETCH_SIZE);

    /// <summary>PRI_RESP PRGIndex, w1[8:0]: the page request group being answered.</summary>
    public ushort PrgIndex => (ushort)(_word1 & W1_PRGINDEX);

    /// <summary>PRI_RESP Resp, w1[13:12]: 0 Failure, 1 InvalidRequest, 2 Success, 3 ILLEGAL.</summary>
    public byte Resp => (byte)((_word1 & W1_RESP) >> 12);

    /// <summary>RESUME Ac, w0[12]: 1 retries the transaction, 0 terminates it.</summary>
    public bool Ac => (_word0 & W0_AC) != 0;

    /// <summary>RESUME Ab, w0[13]: when terminating, 1 aborts and 0 completes with RAZ/WI.</summary>
    public bool Ab => (_word0 & W0_AB) != 0;

    /// <summary>RESUME STAG, w1[15:0]: the token from the stall event record.</summary>
    public ushort Stag => (ushort)(_word1 & W1_STAG);

    /// <summary>CMD_SYNC CS, w0[13:12]: 0 SIG_NONE, 1 SIG_IRQ, 2 SIG_SEV, 3 Reserved.</summary>
    public byte Cs => (byte)((_word0 & W0_CS) >> 12);

    /// <summary>CMD_SYNC MSH, w0[23:22]: shareability of the MSI write.</summary>
    public byte Msh => (byte)((_word0 & W0_MSH) >> 22);

    /// <summary>CMD_SYNC MSIAttr, w0[27:24]: memory attributes of the MSI write.</summary>
    public byte MsiAttr => (byte)((_word0 & W0_MSIATTR) >> 24);

    /// <summary>CMD_SYNC MSIData, w0[63:32]: the 32-bit value the MSI writes.</summary>
    public uint MsiData => (uint)(_word0 >> 32);

    /// <summary>CMD_SYNC MSIAddress, w1[55:2], with bits [1:0] as zero.</summary>
    public ulong MsiAddress => _word1 & W1_MSIADDR;

    /// <summary>Reads one entry from the first 16 bytes of <paramref name="source"/> (little-endian).</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than 16 bytes.</exception>
    public static SmmuCommand Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < EntrySize)
        {
            throw new ArgumentException($"A command-queue entry is {EntrySize} bytes; got {source.Length}.",
                nameof(source));
        }

        return new SmmuCommand(
            BinaryPrimitives.ReadUInt64LittleEndian(source),
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));
    }

    /// <summary>Writes the entry to the first 16 bytes of <paramref name="destination"/> (little-endian).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 16 bytes.</exception>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < EntrySize)
        {
            throw new ArgumentException($"A command-queue entry is {EntrySize} bytes; got {destination.Length}.",
                nameof(destination));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(destination, _word0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _word1);
    }

    /// <summary>A copy with w0[7:0] replaced, e.g. TLBI_NSNH_ALL turned into TLBI_NH_ALL (arm-smmu-v3-iommufd.c
    /// arm_vsmmu_convert_user_cmd()).</summary>
    public SmmuCommand WithOpcode(SmmuOpcode opcode) => new((_word0 & ~W0_OPCODE) | (byte)opcode, _word1);

    /// <summary>A copy with VMID (w0[47:32]) replaced, e.g. the host filling in a guest TLBI's VMID.</summary>
    public SmmuCommand WithVmid(ushort vmid) => new((_word0 & ~W0_VMID) | ((ulong)vmid << 32), _word1);

    /// <summary>A copy with StreamID (w0[63:32]) replaced, e.g. a virtual SID turned into the physical one.</summary>
    public SmmuCommand WithStreamId(uint streamId) => new((_word0 & ~W0_SID) | ((ulong)streamId << 32), _word1);

    /// <summary>A copy with SSec (w0[10]) set or cleared, for Secure-queue commands.</summary>
    public SmmuCommand WithSSec(bool ssec) => new((_word0 & ~W0_SSEC) | (ssec ? W0_SSEC : 0), _word1);

    /// <inheritdoc/>
    public bool Equals(SmmuCommand other) => _word0 == other._word0 && _word1 == other._word1;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SmmuCommand other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_word0, _word1);

    /// <summary>The one-line form of <see cref="SmmuCommandDecoder.Decode(in SmmuCommand)"/>.</summary>
    public override string ToString() => SmmuCommandDecoder.Decode(this);

    /// <summary>True when both commands hold the same two words.</summary>
    public static bool operator ==(SmmuCommand left, SmmuCommand right) => left.Equals(right);

    /// <summary>True when the commands differ in either word.</summary>
    public static bool operator !=(SmmuCommand left, SmmuCommand right) => !left.Equals(right);
}
