using Iommufd.ArmSmmuV3.Hardware;
using B = Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>
/// Golden vectors for every opcode of Arm IHI 0070 §4.1.1. Each word was worked out by hand
/// from the field positions (opcode w0[7:0], SSec w0[10], SSV w0[11], SSID w0[31:12], SID w0[63:32], VMID
/// w0[47:32], ASID w0[63:48], NUM w0[16:12], SCALE w0[25:20], Leaf w1[0], TTL w1[9:8], TG w1[11:10], VA w1[63:12],
/// IPA w1[55:12], and the per-command fields) and is typed here as a literal.
/// </summary>
public static class GoldenCommands
{
    public static IEnumerable<TestCaseData> All =>
        Vectors.Select(g => new TestCaseData(g).SetArgDisplayNames(g.Name));

    public static IReadOnlyList<GoldenCommand> Vectors { get; } =
    [
        new("PREFETCH_CONFIG", SmmuOpcode.PREFETCH_CONFIG,
            () => B.PrefetchConfig(sid: 0x10, ssid: 0x5, ssv: true),
            0x0000_0010_0000_5801, 0x0000_0000_0000_0000,
            "PREFETCH_CONFIG ssec=0 ssv=1 ssid=0x5 sid=0x10",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.PREFETCH_CONFIG));
                Assert.That(c.SSec, Is.False);
                Assert.That(c.SSV, Is.True);
                Assert.That(c.SubstreamId, Is.EqualTo(0x5u));
                Assert.That(c.StreamId, Is.EqualTo(0x10u));
            }),

        new("PREFETCH_ADDR", SmmuOpcode.PREFETCH_ADDR,
            () => B.PrefetchAddr(sid: 0x20, ssid: 0, ssv: false, address: 0x7fff_ffff_e000, size: 9),
            0x0000_0020_0000_0002, 0x0000_7FFF_FFFF_E009,
            "PREFETCH_ADDR ssec=0 ssv=0 ssid=0x0 sid=0x20 addr=0x7fffffffe000 size=9",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.PREFETCH_ADDR));
                Assert.That(c.SSV, Is.False);
                Assert.That(c.StreamId, Is.EqualTo(0x20u));
                Assert.That(c.Address, Is.EqualTo(0x7fff_ffff_e000UL));
                Assert.That(c.PrefetchSize, Is.EqualTo(9));
            }),

        new("CFGI_STE", SmmuOpcode.CFGI_STE,
            () => B.CfgiSte(sid: 0x1234, leaf: true),
            0x0000_1234_0000_0003, 0x0000_0000_0000_0001,
            "CFGI_STE ssec=0 sid=0x1234 leaf=1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CFGI_STE));
                Assert.That(c.StreamId, Is.EqualTo(0x1234u));
                Assert.That(c.Leaf, Is.True);
            }),

        new("CFGI_STE_RANGE", SmmuOpcode.CFGI_STE_RANGE,
            () => B.CfgiSteRange(sid: 0x100, range: 7),
            0x0000_0100_0000_0004, 0x0000_0000_0000_0007,
            "CFGI_STE_RANGE ssec=0 sid=0x100 range=7",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CFGI_STE_RANGE));
                Assert.That(c.StreamId, Is.EqualTo(0x100u));
                Assert.That(c.Range, Is.EqualTo(7));
            }),

        new("CFGI_ALL", SmmuOpcode.CFGI_STE_RANGE,
            B.CfgiAll,
            0x0000_0000_0000_0004, 0x0000_0000_0000_001F,
            "CFGI_STE_RANGE ssec=0 sid=0x0 range=31",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CFGI_STE_RANGE));
                Assert.That(c.StreamId, Is.Zero);
                Assert.That(c.Range, Is.EqualTo(31));
            }),

        new("CFGI_CD", SmmuOpcode.CFGI_CD,
            () => B.CfgiCd(sid: 0xdead, ssid: 0xfffff, leaf: false),
            0x0000_DEAD_FFFF_F005, 0x0000_0000_0000_0000,
            "CFGI_CD ssec=0 ssid=0xfffff sid=0xdead leaf=0",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CFGI_CD));
                Assert.That(c.SubstreamId, Is.EqualTo(0xfffffu));
                Assert.That(c.StreamId, Is.EqualTo(0xdeadu));
                Assert.That(c.SSV, Is.False);
                Assert.That(c.Leaf, Is.False);
            }),

        new("CFGI_CD_ALL", SmmuOpcode.CFGI_CD_ALL,
            () => B.CfgiCdAll(sid: 0xffff_ffff),
            0xFFFF_FFFF_0000_0006, 0x0000_0000_0000_0000,
            "CFGI_CD_ALL ssec=0 sid=0xffffffff",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CFGI_CD_ALL));
                Assert.That(c.StreamId, Is.EqualTo(0xffff_ffffu));
            }),

        new("CFGI_VMS_PIDM", SmmuOpcode.CFGI_VMS_PIDM,
            () => B.CfgiVmsPidm(vmid: 7),
            0x0000_0007_0000_0007, 0x0000_0000_0000_0000,
            "CFGI_VMS_PIDM ssec=0 vmid=0x7",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CFGI_VMS_PIDM));
                Assert.That(c.Vmid, Is.EqualTo(7));
            }),

        new("TLBI_NH_ALL", SmmuOpcode.TLBI_NH_ALL,
            () => B.TlbiNhAll(vmid: 3),
            0x0000_0003_0000_0010, 0x0000_0000_0000_0000,
            "TLBI_NH_ALL vmid=0x3",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_NH_ALL));
                Assert.That(c.Vmid, Is.EqualTo(3));
            }),

        new("TLBI_NH_ASID", SmmuOpcode.TLBI_NH_ASID,
            () => B.TlbiNhAsid(vmid: 1, asid: 0x2a),
            0x002A_0001_0000_0011, 0x0000_0000_0000_0000,
            "TLBI_NH_ASID vmid=0x1 asid=0x2a",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_NH_ASID));
                Assert.That(c.Vmid, Is.EqualTo(1));
                Assert.That(c.Asid, Is.EqualTo(0x2a));
            }),

        new("TLBI_NH_VA", SmmuOpcode.TLBI_NH_VA,
            () => B.TlbiNhVa(vmid: 1, asid: 0x2a, address: 0x4000_1000, leaf: true, ttl: 3, tg: 1, num: 0, scale: 0),
            0x002A_0001_0000_0012, 0x0000_0000_4000_1701,
            "TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_NH_VA));
                Assert.That(c.Vmid, Is.EqualTo(1));
                Assert.That(c.Asid, Is.EqualTo(0x2a));
                Assert.That(c.Address, Is.EqualTo(0x4000_1000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_4K));
                Assert.That(c.Ttl, Is.EqualTo(3));
                Assert.That(c.Ttl128, Is.False);
                Assert.That(c.Num, Is.Zero);
                Assert.That(c.Scale, Is.Zero);
                Assert.That(c.Leaf, Is.True);
            }),

        new("TLBI_NH_VA (range, 64K)", SmmuOpcode.TLBI_NH_VA,
            () => B.TlbiNhVa(
                vmid: 0xffff, asid: 0xffff, address: 0xffff_ffff_ffff_f000, leaf: false, ttl: 0, tg: 3, num: 31,
                scale: 39),
            0xFFFF_FFFF_0271_F012, 0xFFFF_FFFF_FFFF_FC00,
            "TLBI_NH_VA vmid=0xffff asid=0xffff addr=0xfffffffffffff000 tg=64K ttl=0 num=31 scale=39 leaf=0",
            c =>
            {
                Assert.That(c.Vmid, Is.EqualTo(0xffff));
                Assert.That(c.Asid, Is.EqualTo(0xffff));
                Assert.That(c.Address, Is.EqualTo(0xffff_ffff_ffff_f000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_64K));
                Assert.That(c.Ttl, Is.Zero);
                Assert.That(c.Num, Is.EqualTo(31));
                Assert.That(c.Scale, Is.EqualTo(39));
                Assert.That(c.Leaf, Is.False);
            }),

        new("TLBI_NH_VAA", SmmuOpcode.TLBI_NH_VAA,
            () => B.TlbiNhVaa(vmid: 5, address: 0x1_2345_6000, leaf: false, ttl: 2, tg: 2, num: 4, scale: 1),
            0x0000_0005_0010_4013, 0x0000_0001_2345_6A00,
            "TLBI_NH_VAA vmid=0x5 addr=0x123456000 tg=16K ttl=2 num=4 scale=1 leaf=0",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_NH_VAA));
                Assert.That(c.Vmid, Is.EqualTo(5));
                Assert.That(c.Address, Is.EqualTo(0x1_2345_6000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_16K));
                Assert.That(c.Ttl, Is.EqualTo(2));
                Assert.That(c.Num, Is.EqualTo(4));
                Assert.That(c.Scale, Is.EqualTo(1));
                Assert.That(c.Leaf, Is.False);
            }),

        new("TLBI_EL3_ALL", SmmuOpcode.TLBI_EL3_ALL,
            B.TlbiEl3All,
            0x0000_0000_0000_0018, 0x0000_0000_0000_0000,
            "TLBI_EL3_ALL",
            c => Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL3_ALL))),

        new("TLBI_EL3_VA", SmmuOpcode.TLBI_EL3_VA,
            () => B.TlbiEl3Va(address: 0x8000, leaf: true, ttl: 1, tg: 1, num: 2, scale: 3),
            0x0000_0000_0030_201A, 0x0000_0000_0000_8501,
            "TLBI_EL3_VA addr=0x8000 tg=4K ttl=1 num=2 scale=3 leaf=1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL3_VA));
                Assert.That(c.Address, Is.EqualTo(0x8000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_4K));
                Assert.That(c.Ttl, Is.EqualTo(1));
                Assert.That(c.Num, Is.EqualTo(2));
                Assert.That(c.Scale, Is.EqualTo(3));
                Assert.That(c.Leaf, Is.True);
            }),

        new("TLBI_EL2_ALL", SmmuOpcode.TLBI_EL2_ALL,
            B.TlbiEl2All,
            0x0000_0000_0000_0020, 0x0000_0000_0000_0000,
            "TLBI_EL2_ALL",
            c => Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL2_ALL))),

        new("TLBI_EL2_ASID", SmmuOpcode.TLBI_EL2_ASID,
            () => B.TlbiEl2Asid(asid: 0xbeef),
            0xBEEF_0000_0000_0021, 0x0000_0000_0000_0000,
            "TLBI_EL2_ASID asid=0xbeef",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL2_ASID));
                Assert.That(c.Asid, Is.EqualTo(0xbeef));
            }),

        new("TLBI_EL2_VA", SmmuOpcode.TLBI_EL2_VA,
            () => B.TlbiEl2Va(asid: 9, address: 0xffff_0000_0000_0000, leaf: false, ttl: 0, tg: 0, num: 0, scale: 0),
            0x0009_0000_0000_0022, 0xFFFF_0000_0000_0000,
            "TLBI_EL2_VA asid=0x9 addr=0xffff000000000000 tg=0 ttl=0 num=0 scale=0 leaf=0",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL2_VA));
                Assert.That(c.Asid, Is.EqualTo(9));
                Assert.That(c.Address, Is.EqualTo(0xffff_0000_0000_0000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_ANY));
                Assert.That(c.Leaf, Is.False);
            }),

        new("TLBI_EL2_VAA", SmmuOpcode.TLBI_EL2_VAA,
            () => B.TlbiEl2Vaa(address: 0x20_0000, leaf: true, ttl: 2, tg: 1, num: 1, scale: 0),
            0x0000_0000_0000_1023, 0x0000_0000_0020_0601,
            "TLBI_EL2_VAA addr=0x200000 tg=4K ttl=2 num=1 scale=0 leaf=1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_EL2_VAA));
                Assert.That(c.Address, Is.EqualTo(0x20_0000UL));
                Assert.That(c.Ttl, Is.EqualTo(2));
                Assert.That(c.Num, Is.EqualTo(1));
                Assert.That(c.Leaf, Is.True);
            }),

        new("TLBI_S12_VMALL", SmmuOpcode.TLBI_S12_VMALL,
            () => B.TlbiS12Vmall(vmid: 0x80),
            0x0000_0080_0000_0028, 0x0000_0000_0000_0000,
            "TLBI_S12_VMALL vmid=0x80",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S12_VMALL));
                Assert.That(c.Vmid, Is.EqualTo(0x80));
            }),

        new("TLBI_S2_IPA", SmmuOpcode.TLBI_S2_IPA,
            () => B.TlbiS2Ipa(vmid: 2, ipa: 0x00ff_ffff_ffff_f000, leaf: true, ttl: 3, tg: 3, num: 0, scale: 5),
            0x0000_0002_0050_002A, 0x00FF_FFFF_FFFF_FF01,
            "TLBI_S2_IPA vmid=0x2 ipa=0xfffffffffff000 tg=64K ttl=3 num=0 scale=5 leaf=1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S2_IPA));
                Assert.That(c.Vmid, Is.EqualTo(2));
                Assert.That(c.IpaAddress, Is.EqualTo(0x00ff_ffff_ffff_f000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_64K));
                Assert.That(c.Ttl, Is.EqualTo(3));
                Assert.That(c.Scale, Is.EqualTo(5));
                Assert.That(c.Leaf, Is.True);
            }),

        new("TLBI_NSNH_ALL", SmmuOpcode.TLBI_NSNH_ALL,
            B.TlbiNsnhAll,
            0x0000_0000_0000_0030, 0x0000_0000_0000_0000,
            "TLBI_NSNH_ALL",
            c => Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_NSNH_ALL))),

        new("ATC_INV", SmmuOpcode.ATC_INV,
            () => B.AtcInv(sid: 0x42, ssid: 3, ssv: true, global: true, address: 0x1000_0000, size: 52),
            0x0000_0042_0000_3A40, 0x0000_0000_1000_0034,
            "ATC_INV ssv=1 ssid=0x3 sid=0x42 global=1 addr=0x10000000 size=52",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.ATC_INV));
                Assert.That(c.SSV, Is.True);
                Assert.That(c.SubstreamId, Is.EqualTo(3u));
                Assert.That(c.StreamId, Is.EqualTo(0x42u));
                Assert.That(c.Global, Is.True);
                Assert.That(c.Address, Is.EqualTo(0x1000_0000UL));
                Assert.That(c.AtcSize, Is.EqualTo(52));
            }),

        new("PRI_RESP", SmmuOpcode.PRI_RESP,
            () => B.PriResp(sid: 7, ssid: 0x12345, ssv: true, prgIndex: 0x1ff, resp: SmmuCommand.RESP_SUCCESS),
            0x0000_0007_1234_5841, 0x0000_0000_0000_21FF,
            "PRI_RESP ssv=1 ssid=0x12345 sid=0x7 prgindex=0x1ff resp=2",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.PRI_RESP));
                Assert.That(c.SSV, Is.True);
                Assert.That(c.SubstreamId, Is.EqualTo(0x12345u));
                Assert.That(c.StreamId, Is.EqualTo(7u));
                Assert.That(c.PrgIndex, Is.EqualTo(0x1ff));
                Assert.That(c.Resp, Is.EqualTo(2));
            }),

        new("RESUME", SmmuOpcode.RESUME,
            () => B.Resume(sid: 0x99, stag: 0xabcd, ac: true, ab: false),
            0x0000_0099_0000_1044, 0x0000_0000_0000_ABCD,
            "RESUME ssec=0 sid=0x99 ac=1 ab=0 stag=0xabcd",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.RESUME));
                Assert.That(c.StreamId, Is.EqualTo(0x99u));
                Assert.That(c.Ac, Is.True);
                Assert.That(c.Ab, Is.False);
                Assert.That(c.Stag, Is.EqualTo(0xabcd));
            }),

        new("STALL_TERM", SmmuOpcode.STALL_TERM,
            () => B.StallTerm(sid: 0x99),
            0x0000_0099_0000_0045, 0x0000_0000_0000_0000,
            "STALL_TERM ssec=0 sid=0x99",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.STALL_TERM));
                Assert.That(c.StreamId, Is.EqualTo(0x99u));
            }),

        new("CMD_SYNC (MSI)", SmmuOpcode.CMD_SYNC,
            () => B.CmdSync(cs: SmmuCommand.CS_SIG_IRQ, msiAddress: 0x8000_0040, msiData: 0x1234_5678,
                msh: SmmuCommand.MSH_ISH, msiAttr: SmmuCommand.MSIATTR_OIWB),
            0x1234_5678_0FC0_1046, 0x0000_0000_8000_0040,
            "CMD_SYNC cs=1 msh=3 msiattr=0xf msidata=0x12345678 msiaddr=0x80000040",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.CMD_SYNC));
                Assert.That(c.Cs, Is.EqualTo(1));
                Assert.That(c.Msh, Is.EqualTo(3));
                Assert.That(c.MsiAttr, Is.EqualTo(0xf));
                Assert.That(c.MsiData, Is.EqualTo(0x1234_5678u));
                Assert.That(c.MsiAddress, Is.EqualTo(0x8000_0040UL));
            }),

        new("CMD_SYNC (SEV, as Linux without MSI polling)", SmmuOpcode.CMD_SYNC,
            () => B.CmdSync(cs: SmmuCommand.CS_SIG_SEV, msh: 3, msiAttr: 0xf),
            0x0000_0000_0FC0_2046, 0x0000_0000_0000_0000,
            "CMD_SYNC cs=2 msh=3 msiattr=0xf msidata=0x0 msiaddr=0x0",
            c =>
            {
                Assert.That(c.Cs, Is.EqualTo(2));
                Assert.That(c.MsiData, Is.Zero);
                Assert.That(c.MsiAddress, Is.Zero);
            }),

        new("TLBI_S_EL2_ALL", SmmuOpcode.TLBI_S_EL2_ALL,
            B.TlbiSEl2All,
            0x0000_0000_0000_0050, 0x0000_0000_0000_0000,
            "TLBI_S_EL2_ALL",
            c => Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S_EL2_ALL))),

        new("TLBI_S_EL2_ASID", SmmuOpcode.TLBI_S_EL2_ASID,
            () => B.TlbiSEl2Asid(asid: 1),
            0x0001_0000_0000_0051, 0x0000_0000_0000_0000,
            "TLBI_S_EL2_ASID asid=0x1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S_EL2_ASID));
                Assert.That(c.Asid, Is.EqualTo(1));
            }),

        new("TLBI_S_EL2_VA", SmmuOpcode.TLBI_S_EL2_VA,
            () => B.TlbiSEl2Va(asid: 2, address: 0x3000, leaf: true, ttl: 3, tg: 1, num: 0, scale: 0),
            0x0002_0000_0000_0052, 0x0000_0000_0000_3701,
            "TLBI_S_EL2_VA asid=0x2 addr=0x3000 tg=4K ttl=3 num=0 scale=0 leaf=1",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S_EL2_VA));
                Assert.That(c.Asid, Is.EqualTo(2));
                Assert.That(c.Address, Is.EqualTo(0x3000UL));
                Assert.That(c.Ttl, Is.EqualTo(3));
                Assert.That(c.Leaf, Is.True);
            }),

        new("TLBI_S_EL2_VAA", SmmuOpcode.TLBI_S_EL2_VAA,
            () => B.TlbiSEl2Vaa(address: 0x4000, leaf: false, ttl: 0, tg: 2, num: 7, scale: 2),
            0x0000_0000_0020_7053, 0x0000_0000_0000_4800,
            "TLBI_S_EL2_VAA addr=0x4000 tg=16K ttl=0 num=7 scale=2 leaf=0",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S_EL2_VAA));
                Assert.That(c.Address, Is.EqualTo(0x4000UL));
                Assert.That(c.Tg, Is.EqualTo(SmmuCommand.TG_16K));
                Assert.That(c.Num, Is.EqualTo(7));
                Assert.That(c.Scale, Is.EqualTo(2));
            }),

        new("TLBI_S_S12_VMALL", SmmuOpcode.TLBI_S_S12_VMALL,
            () => B.TlbiSS12Vmall(vmid: 0x10),
            0x0000_0010_0000_0058, 0x0000_0000_0000_0000,
            "TLBI_S_S12_VMALL vmid=0x10",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S_S12_VMALL));
                Assert.That(c.Vmid, Is.EqualTo(0x10));
            }),

        new("TLBI_S_S2_IPA", SmmuOpcode.TLBI_S_S2_IPA,
            () => B.TlbiSS2Ipa(vmid: 0x11, ipa: 0x5000, leaf: false, ttl: 1, tg: 1, num: 3, scale: 4),
            0x0000_0011_0040_305A, 0x0000_0000_0000_5500,
            "TLBI_S_S2_IPA vmid=0x11 ipa=0x5000 tg=4K ttl=1 num=3 scale=4 leaf=0",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_S_S2_IPA));
                Assert.That(c.Vmid, Is.EqualTo(0x11));
                Assert.That(c.IpaAddress, Is.EqualTo(0x5000UL));
                Assert.That(c.Ttl, Is.EqualTo(1));
                Assert.That(c.Num, Is.EqualTo(3));
                Assert.That(c.Scale, Is.EqualTo(4));
            }),

        new("TLBI_SNH_ALL", SmmuOpcode.TLBI_SNH_ALL,
            B.TlbiSnhAll,
            0x0000_0000_0000_0060, 0x0000_0000_0000_0000,
            "TLBI_SNH_ALL",
            c => Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.TLBI_SNH_ALL))),

        new("DPTI_ALL", SmmuOpcode.DPTI_ALL,
            B.DptiAll,
            0x0000_0000_0000_0070, 0x0000_0000_0000_0000,
            "DPTI_ALL",
            c => Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.DPTI_ALL))),

        new("DPTI_PA", SmmuOpcode.DPTI_PA,
            () => B.DptiPa(pa: 0x80_0000_0000),
            0x0000_0000_0000_0073, 0x0000_0080_0000_0000,
            "DPTI_PA pa=0x8000000000",
            c =>
            {
                Assert.That(c.Opcode, Is.EqualTo(SmmuOpcode.DPTI_PA));
                Assert.That(c.IpaAddress, Is.EqualTo(0x80_0000_0000UL));
            }),
    ];
}
