using System.Runtime.CompilerServices;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandLayout;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Builds each SMMUv3 command from its parameters (Arm IHI 0070 chapter 4; arm-smmu-v3.c arm_smmu_cmdq_build_cmd()).
/// All reserved bits are zero and SSec is 0, as the Non-secure queue requires; use <see
/// cref="SmmuCommand.WithSSec(bool)"/> for a Secure one.
/// </summary>
/// <remarks>
/// <para>
/// Arguments are checked only against the width of their field: a value that cannot be encoded throws
/// <see cref="ArgumentOutOfRangeException"/>, a programmer error. Values that encode but are illegal to the
/// hardware — CS = 3, Resp = 3, NUM = SCALE = TTL = 0 with TG ≠ 0, ATC_INV Size above 52, a SCALE above 31 without
/// IDR5.DS — are built as asked, since answering them with CERROR_ILL is the hardware model's business and its tests
/// need to build them.
/// </para>
/// <para>Addresses must have their untransmitted low bits clear (4 KB alignment; 4 bytes for MSIAddress).</para>
/// <para>Nothing here allocates.</para>
/// </remarks>
public static class SmmuCommandBuilder
{
    /// <summary>Largest SubstreamID (20 bits).</summary>
    public const uint MaxSubstreamId = 0xF_FFFF;

    /// <summary>CFGI_STE_RANGE Range that means "every StreamID" (CFGI_ALL).</summary>
    public const byte CfgiAllRange = 31;

    /// <summary>CMD_PREFETCH_CONFIG (0x01).</summary>
    public static SmmuCommand PrefetchConfig(uint sid, uint ssid = 0, bool ssv = false) =>
        new(Op(SmmuOpcode.PREFETCH_CONFIG) | Substream(ssid, ssv) | Sid(sid), 0);

    /// <summary>
    /// CMD_PREFETCH_ADDR (0x02): 2^<paramref name="size"/> translations from <paramref name="address"/>.
    /// </summary>
    public static SmmuCommand PrefetchAddr(uint sid, uint ssid, bool ssv, ulong address, byte size)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, (byte)W1_PREFETCH_SIZE);
        return new(Op(SmmuOpcode.PREFETCH_ADDR) | Substream(ssid, ssv) | Sid(sid), Va(address) | size);
    }

    /// <summary>CMD_CFGI_STE (0x03). Leaf = false also drops cached L1 stream-table descriptors.</summary>
    public static SmmuCommand CfgiSte(uint sid, bool leaf) =>
        new(Op(SmmuOpcode.CFGI_STE) | Sid(sid), Bit(leaf, W1_LEAF));

    /// <summary>CMD_CFGI_STE_RANGE (0x04): 2^(<paramref name="range"/>+1) aligned StreamIDs.</summary>
    public static SmmuCommand CfgiSteRange(uint sid, byte range)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(range, (byte)W1_RANGE);
        return new(Op(SmmuOpcode.CFGI_STE_RANGE) | Sid(sid), range);
    }

    /// <summary>CMD_CFGI_ALL: CFGI_STE_RANGE with SID = 0 and Range = 31, as Linux builds it.</summary>
    public static SmmuCommand CfgiAll() => CfgiSteRange(0, CfgiAllRange);

    /// <summary>CMD_CFGI_CD (0x05). There is no SSV: <paramref name="ssid"/> is the CD table index.</summary>
    public static SmmuCommand CfgiCd(uint sid, uint ssid, bool leaf) =>
        new(Op(SmmuOpcode.CFGI_CD) | Ssid(ssid) | Sid(sid), Bit(leaf, W1_LEAF));

    /// <summary>CMD_CFGI_CD_ALL (0x06).</summary>
    public static SmmuCommand CfgiCdAll(uint sid) => new(Op(SmmuOpcode.CFGI_CD_ALL) | Sid(sid), 0);

    /// <summary>CMD_CFGI_VMS_PIDM (0x07).</summary>
    public static SmmuCommand CfgiVmsPidm(ushort vmid) => new(Op(SmmuOpcode.CFGI_VMS_PIDM) | Vmid(vmid), 0);

    /// <summary>CMD_TLBI_NH_ALL (0x10).</summary>
    public static SmmuCommand TlbiNhAll(ushort vmid) => new(Op(SmmuOpcode.TLBI_NH_ALL) | Vmid(vmid), 0);

    /// <summary>CMD_TLBI_NH_ASID (0x11).</summary>
    public static SmmuCommand TlbiNhAsid(ushort vmid, ushort asid) =>
        new(Op(SmmuOpcode.TLBI_NH_ASID) | Vmid(vmid) | Asid(asid), 0);

    /// <summary>CMD_TLBI_NH_VA (0x12). <paramref name="tg"/> is TG (0 any, 1 4K, 2 16K, 3 64K).</summary>
    public static SmmuCommand TlbiNhVa(
        ushort vmid, ushort asid, ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_NH_VA, Vmid(vmid) | Asid(asid), Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_NH_VAA (0x13): as TLBI_NH_VA for every ASID.</summary>
    public static SmmuCommand TlbiNhVaa(
        ushort vmid, ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_NH_VAA, Vmid(vmid), Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_EL3_ALL (0x18); Secure queue only.</summary>
    public static SmmuCommand TlbiEl3All() => new(Op(SmmuOpcode.TLBI_EL3_ALL), 0);

    /// <summary>CMD_TLBI_EL3_VA (0x1A); Secure queue only.</summary>
    public static SmmuCommand TlbiEl3Va(ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_EL3_VA, 0, Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_EL2_ALL (0x20).</summary>
    public static SmmuCommand TlbiEl2All() => new(Op(SmmuOpcode.TLBI_EL2_ALL), 0);

    /// <summary>CMD_TLBI_EL2_ASID (0x21).</summary>
    public static SmmuCommand TlbiEl2Asid(ushort asid) => new(Op(SmmuOpcode.TLBI_EL2_ASID) | Asid(asid), 0);

    /// <summary>CMD_TLBI_EL2_VA (0x22).</summary>
    public static SmmuCommand TlbiEl2Va(
        ushort asid, ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_EL2_VA, Asid(asid), Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_EL2_VAA (0x23).</summary>
    public static SmmuCommand TlbiEl2Vaa(ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_EL2_VAA, 0, Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_S12_VMALL (0x28).</summary>
    public static SmmuCommand TlbiS12Vmall(ushort vmid) => new(Op(SmmuOpcode.TLBI_S12_VMALL) | Vmid(vmid), 0);

    /// <summary>CMD_TLBI_S2_IPA (0x2A). <paramref name="ipa"/> is bits [55:12] of the IPA.</summary>
    public static SmmuCommand TlbiS2Ipa(
        ushort vmid, ulong ipa, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_S2_IPA, Vmid(vmid), Pa(ipa), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_NSNH_ALL (0x30).</summary>
    public static SmmuCommand TlbiNsnhAll() => new(Op(SmmuOpcode.TLBI_NSNH_ALL), 0);

    /// <summary>
    /// CMD_ATC_INV (0x40): a span of 4 KB × 2^<paramref name="size"/> at <paramref name="address"/>; 52 covers
    /// everything. <paramref name="global"/> also covers every SubstreamID and is ignored when SSV = 0.
    /// </summary>
    public static SmmuCommand AtcInv(uint sid, uint ssid, bool ssv, bool global, ulong address, byte size)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, (byte)W1_ATC_SIZE);
        return new(Op(SmmuOpcode.ATC_INV) | Bit(global, W0_GLOBAL) | Substream(ssid, ssv) | Sid(sid),
            Va(address) | size);
    }

    /// <summary>CMD_PRI_RESP (0x41). <paramref name="resp"/>: 0 Failure, 1 InvalidRequest, 2 Success.</summary>
    public static SmmuCommand PriResp(uint sid, uint ssid, bool ssv, ushort prgIndex, byte resp)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prgIndex, (ushort)W1_PRGINDEX);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(resp, (byte)3);
        return new(Op(SmmuOpcode.PRI_RESP) | Substream(ssid, ssv) | Sid(sid), prgIndex | ((ulong)resp << 12));
    }

    /// <summary>
    /// CMD_RESUME (0x44). <paramref name="ac"/> = true retries; false terminates, aborting when
    /// <paramref name="ab"/> is true. Linux's 2-bit RESP at w0[13:12] is the same encoding (arm-smmu-v3.h
    /// CMDQ_RESUME_0_RESP_*; IHI 0070 §4.7.1 Ac, Ab).
    /// </summary>
    public static SmmuCommand Resume(uint sid, ushort stag, bool ac, bool ab) =>
        new(Op(SmmuOpcode.RESUME) | Bit(ac, W0_AC) | Bit(ab, W0_AB) | Sid(sid), stag);

    /// <summary>CMD_STALL_TERM (0x45).</summary>
    public static SmmuCommand StallTerm(uint sid) => new(Op(SmmuOpcode.STALL_TERM) | Sid(sid), 0);

    /// <summary>
    /// CMD_SYNC (0x46). <paramref name="cs"/>: 0 SIG_NONE, 1 SIG_IRQ, 2 SIG_SEV. Linux sends SIG_IRQ with an
    /// MSIAddress when it polls an MSI, else SIG_SEV, with MSH = 3 (ISH) and MSIAttr = 0xF (arm-smmu-v3.c
    /// arm_smmu_cmdq_build_sync_cmd()).
    /// </summary>
    public static SmmuCommand CmdSync(byte cs, ulong msiAddress = 0, uint msiData = 0, byte msh = 0, byte msiAttr = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cs, (byte)3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(msh, (byte)3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(msiAttr, (byte)0xF);
        if ((msiAddress & ~W1_MSIADDR) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(msiAddress), msiAddress,
                "MSIAddress holds bits [55:2]: the address must be 4-byte aligned and below 2^56.");
        }

        return new(
            Op(SmmuOpcode.CMD_SYNC) | ((ulong)cs << 12) | ((ulong)msh << 22) | ((ulong)msiAttr << 24)
                | ((ulong)msiData << 32),
            msiAddress);
    }

    /// <summary>CMD_TLBI_S_EL2_ALL (0x50); Secure queue only.</summary>
    public static SmmuCommand TlbiSEl2All() => new(Op(SmmuOpcode.TLBI_S_EL2_ALL), 0);

    /// <summary>CMD_TLBI_S_EL2_ASID (0x51); Secure queue only.</summary>
    public static SmmuCommand TlbiSEl2Asid(ushort asid) => new(Op(SmmuOpcode.TLBI_S_EL2_ASID) | Asid(asid), 0);

    /// <summary>CMD_TLBI_S_EL2_VA (0x52); Secure queue only.</summary>
    public static SmmuCommand TlbiSEl2Va(
        ushort asid, ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_S_EL2_VA, Asid(asid), Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_S_EL2_VAA (0x53); Secure queue only.</summary>
    public static SmmuCommand TlbiSEl2Vaa(ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_S_EL2_VAA, 0, Va(address), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_S_S12_VMALL (0x58); Secure queue only.</summary>
    public static SmmuCommand TlbiSS12Vmall(ushort vmid) => new(Op(SmmuOpcode.TLBI_S_S12_VMALL) | Vmid(vmid), 0);

    /// <summary>CMD_TLBI_S_S2_IPA (0x5A); Secure queue only.</summary>
    public static SmmuCommand TlbiSS2Ipa(
        ushort vmid, ulong ipa, bool leaf, byte ttl, byte tg, byte num, byte scale) =>
        RangeTlbi(SmmuOpcode.TLBI_S_S2_IPA, Vmid(vmid), Pa(ipa), leaf, ttl, tg, num, scale);

    /// <summary>CMD_TLBI_SNH_ALL (0x60); Secure queue only.</summary>
    public static SmmuCommand TlbiSnhAll() => new(Op(SmmuOpcode.TLBI_SNH_ALL), 0);

    /// <summary>CMD_DPTI_ALL (0x70).</summary>
    public static SmmuCommand DptiAll() => new(Op(SmmuOpcode.DPTI_ALL), 0);

    /// <summary>
    /// CMD_DPTI_PA (0x73), with the physical address in w1[55:12]. Size and Leaf are not encoded: the spec text gives
    /// no positions for them (see <see cref="SmmuCommandLayout"/>).
    /// </summary>
    public static SmmuCommand DptiPa(ulong pa) => new(Op(SmmuOpcode.DPTI_PA), Pa(pa));

    private static SmmuCommand RangeTlbi(
        SmmuOpcode opcode, ulong ids, ulong address, bool leaf, byte ttl, byte tg, byte num, byte scale)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ttl, (byte)3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tg, (byte)3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(num, (byte)0x1F);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scale, (byte)0x3F);
        return new(
            Op(opcode) | ids | ((ulong)num << 12) | ((ulong)scale << 20),
            address | ((ulong)tg << 10) | ((ulong)ttl << 8) | Bit(leaf, W1_LEAF));
    }

    private static ulong Op(SmmuOpcode opcode) => (byte)opcode;

    private static ulong Bit(bool value, ulong bit) => value ? bit : 0;

    private static ulong Sid(uint sid) => (ulong)sid << 32;

    private static ulong Vmid(ushort vmid) => (ulong)vmid << 32;

    private static ulong Asid(ushort asid) => (ulong)asid << 48;

    private static ulong Ssid(uint ssid)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ssid, MaxSubstreamId);
        return (ulong)ssid << 12;
    }

    private static ulong Substream(uint ssid, bool ssv) => Ssid(ssid) | Bit(ssv, W0_SSV);

    private static ulong Va(ulong address, [CallerArgumentExpression(nameof(address))] string? paramName = null)
    {
        if ((address & ~W1_VA) != 0)
        {
            throw new ArgumentOutOfRangeException(paramName, address,
                "Addresses are encoded from bit 12: the address must be 4 KB aligned.");
        }

        return address;
    }

    private static ulong Pa(ulong address, [CallerArgumentExpression(nameof(address))] string? paramName = null)
    {
        if ((address & ~W1_PA) != 0)
        {
            throw new ArgumentOutOfRangeException(paramName, address,
                "Physical and IPA addresses hold bits [55:12]: the address must be 4 KB aligned and below 2^56.");
        }

        return address;
    }
}
