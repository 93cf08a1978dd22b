using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// What a hostile guest writes into a command queue: garbage words, every opcode, and well-formed commands whose
/// fields name the other VM (its VMID, its vSID and pSID, its ASID and VAs) or MSI addresses in its RAM.
/// </summary>
internal sealed class HostileCommands(Random random, VictimNames victim)
{
    private static readonly SmmuOpcode[] Known = Enum.GetValues<SmmuOpcode>();

    public SmmuCommand Next()
    {
        var r = random;
        switch (r.Next(10))
        {
            case 0:
                return new SmmuCommand((ulong)r.NextInt64() ^ ((ulong)r.Next() << 63), (ulong)r.NextInt64() ^ ((ulong)r.Next() << 63));
            case 1:
                return new SmmuCommand((ulong)(byte)r.Next(256) | ((ulong)r.NextInt64() << 8), (ulong)r.NextInt64());
        }

        var op = r.Next(4) == 0 ? Known[r.Next(Known.Length)] : Common[r.Next(Common.Length)];
        ulong w0 = (byte)op | (Vmid() << 32) | (Asid() << 48);
        ulong w1 = 0;
        switch (op)
        {
            case SmmuOpcode.ATC_INV:
            case SmmuOpcode.CFGI_STE:
            case SmmuOpcode.CFGI_STE_RANGE:
            case SmmuOpcode.CFGI_CD:
            case SmmuOpcode.CFGI_CD_ALL:
            case SmmuOpcode.PREFETCH_CONFIG:
            case SmmuOpcode.PREFETCH_ADDR:
                w0 = (byte)op | (Sid() << 32) | ((ulong)r.Next(4) << 11) | ((ulong)r.Next(2) << 9);
                w1 = Address() | (uint)r.Next(64);
                break;
            case SmmuOpcode.CMD_SYNC:
                w0 = (byte)op | ((ulong)r.Next(4) << 12) | ((ulong)r.Next(4) << 22) | ((ulong)(uint)r.Next() << 32);
                w1 = r.Next(2) == 0 ? victim.Canary + ((ulong)r.Next(1024) * 4) : (ulong)r.NextInt64() & 0x00FF_FFFF_FFFF_FFFC;
                break;
            default:
                w0 |= ((ulong)r.Next(32) << 12) | ((ulong)r.Next(32) << 20);
                w1 = Address() | ((ulong)r.Next(4) << 10) | ((ulong)r.Next(4) << 8) | (uint)r.Next(2);
                break;
        }

        if (r.Next(8) == 0)
        {
            w0 ^= 1UL << r.Next(8, 64); // a stray bit, often reserved
        }

        return new SmmuCommand(w0, w1);
    }

    /// <summary>What most of the stream is: the commands a guest issues, and what it may not.</summary>
    private static readonly SmmuOpcode[] Common =
    [
        SmmuOpcode.TLBI_NH_ASID, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VAA, SmmuOpcode.TLBI_NH_ALL,
        SmmuOpcode.TLBI_NSNH_ALL, SmmuOpcode.ATC_INV, SmmuOpcode.ATC_INV, SmmuOpcode.CMD_SYNC, SmmuOpcode.CMD_SYNC,
        SmmuOpcode.CFGI_CD, SmmuOpcode.CFGI_CD_ALL, SmmuOpcode.CFGI_STE, SmmuOpcode.CFGI_STE_RANGE, SmmuOpcode.TLBI_S12_VMALL,
        SmmuOpcode.TLBI_S2_IPA, SmmuOpcode.TLBI_EL2_ALL, SmmuOpcode.PREFETCH_CONFIG,
    ];

    private ulong Vmid() => random.Next(4) switch
    {
        0 or 1 => victim.Vmid,
        2 => 0,
        _ => (ulong)random.Next(65536),
    };

    private ulong Asid() => random.Next(3) == 0 ? (ulong)random.Next(65536) : victim.Asid;

    private ulong Sid() => random.Next(5) switch
    {
        0 => victim.Vsid,
        1 => victim.Psid,
        2 => (ulong)random.Next(4),
        3 => uint.MaxValue,
        _ => (ulong)random.Next(256),
    };

    /// <summary>A VA of the victim's mapping (page aligned or not), or anything.</summary>
    private ulong Address() => random.Next(3) == 0
        ? (ulong)random.NextInt64() & 0x000F_FFFF_FFFF_F000
        : victim.Va + ((ulong)random.Next(victim.Pages + 4) << 12);
}

/// <summary>The other VM's names a hostile stream aims at.</summary>
internal sealed record VictimNames(ushort Vmid, uint Vsid, uint Psid, ushort Asid, ulong Va, int Pages, ulong Canary);
