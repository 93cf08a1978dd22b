using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// What a hostile guest writes into a command queue: garbage words, every opcode, and well-formed commands whose
/// fields name the other VM (its VMID, its vSID and pSID, its ASID and VAs) or MSI addresses in its RAM.
/// </summary>
internal sealed class HostileCommands(Random random, VictimNames victim)
{
    private static readonly SmmuOpcode[] Known = Enum.GetValues<SmmuOpcode>();

    /// <summary>Any entry: garbage a fifth of the time, else a crafted command (<see cref="NextCrafted"/>).</summary>
    public SmmuCommand Next()
    {
        var r = random;
        return r.Next(10) switch
        {
            0 => new SmmuCommand((ulong)r.NextInt64() ^ ((ulong)r.Next() << 63), (ulong)r.NextInt64() ^ ((ulong)r.Next() << 63)),
            1 => new SmmuCommand((ulong)(byte)r.Next(256) | ((ulong)r.NextInt64() << 8), (ulong)r.NextInt64()),
            _ => NextCrafted(r.Next(4) == 0 ? Known : Common),
        };
    }

    /// <summary>An invalidation a trapping VMM forwards (TLBI_NH_*, TLBI_NSNH_ALL, ATC_INV, CFGI_CD*), aimed at the other VM.</summary>
    public SmmuCommand NextForwardable() => NextCrafted(Forwardable);

    private SmmuCommand NextCrafted(SmmuOpcode[] opcodes)
    {
        var r = random;
        var op = opcodes[r.Next(opcodes.Length)];
        ulong w0 = (byte)op | (op == SmmuOpcode.TLBI_NSNH_ALL ? 0 : Vmid() << 32)
            | (op is SmmuOpcode.TLBI_NH_ASID or SmmuOpcode.TLBI_NH_VA || r.Next(4) == 0 ? Asid() << 48 : 0);
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
                w0 = (byte)op | (Sid() << 32) | (r.Next(4) == 0 ? ((ulong)r.Next(4) << 11) | ((ulong)r.Next(2) << 9) : 0); // SSV, Global
                w1 = op == SmmuOpcode.ATC_INV || r.Next(4) == 0
                    ? Address() | (uint)(r.Next(4) == 0 ? r.Next(64) : r.Next(2)) // ATC_INV's address and Size
                    : (uint)r.Next(2); // Leaf
                break;
            case SmmuOpcode.CMD_SYNC:
                w0 = (byte)op | ((ulong)r.Next(4) << 12) | ((ulong)r.Next(4) << 22) | ((ulong)(uint)r.Next() << 32);
                w1 = r.Next(2) == 0 ? victim.Canary + ((ulong)r.Next(1024) * 4) : (ulong)r.NextInt64() & 0x00FF_FFFF_FFFF_FFFC;
                break;
            case SmmuOpcode.TLBI_NH_VA:
            case SmmuOpcode.TLBI_NH_VAA:
            case SmmuOpcode.TLBI_S2_IPA:
                if (r.Next(3) == 0)
                {
                    w0 |= ((ulong)r.Next(32) << 12) | ((ulong)r.Next(32) << 20); // NUM, SCALE: a range, legal or not
                    w1 |= ((ulong)r.Next(4) << 10) | ((ulong)r.Next(4) << 8); // TG, TTL
                }

                w1 |= Address() | (uint)r.Next(2);
                break;
            default:
                w1 = r.Next(8) == 0 ? (ulong)r.NextInt64() : 0;
                break;
        }

        if (r.Next(8) == 0)
        {
            w0 ^= 1UL << r.Next(8, 64); // a stray bit, often reserved
        }

        return new SmmuCommand(w0, w1);
    }

    private static readonly SmmuOpcode[] Forwardable =
    [
        SmmuOpcode.TLBI_NH_ASID, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VAA, SmmuOpcode.TLBI_NH_ALL, SmmuOpcode.TLBI_NSNH_ALL,
        SmmuOpcode.ATC_INV, SmmuOpcode.CFGI_CD, SmmuOpcode.CFGI_CD_ALL,
    ];

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
