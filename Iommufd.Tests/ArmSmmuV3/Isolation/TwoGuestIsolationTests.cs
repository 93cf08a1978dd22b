using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Isolation;

/// <summary>
/// Two vIOMMUs on one SMMU: whatever command stream one guest sends through IOMMU_HWPT_INVALIDATE, the other
/// guest's cached translations (IOTLB and ATC) stay exactly as they were.
/// </summary>
public class TwoGuestIsolationTests
{
    private static readonly SmmuOpcode[] Opcodes =
    [
        SmmuOpcode.TLBI_NH_ALL, SmmuOpcode.TLBI_NH_ASID, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VAA,
        SmmuOpcode.TLBI_NSNH_ALL, SmmuOpcode.ATC_INV, SmmuOpcode.CFGI_CD, SmmuOpcode.CFGI_CD_ALL,
        SmmuOpcode.TLBI_S12_VMALL, SmmuOpcode.TLBI_S2_IPA, SmmuOpcode.CFGI_STE, SmmuOpcode.CFGI_STE_RANGE,
        SmmuOpcode.CMD_SYNC, SmmuOpcode.TLBI_EL2_ALL,
    ];

    [Test]
    public void A_random_stream_of_100000_entries_from_one_guest_never_touches_the_other_guests_caches()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0")
                .AddDevice("a", "smmu0", streamId: 0x10, atsCapable: true)
                .AddDevice("b", "smmu0", streamId: 0x11, atsCapable: true))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var smmu = ((SmmuV3Host)host.Platform.Iommus.Single()).Hardware;

        // Both guests use the same vSID and ASID: only the host's separation keeps them apart.
        using var guestA = new SmmuGuest(host, host.Platform.GetDevice("a"), vsid: 1, asid: 3);
        using var guestB = new SmmuGuest(host, host.Platform.GetDevice("b"), vsid: 1, asid: 3);
        guestA.MapAndTouch(0x10_0000, 16);
        guestB.MapAndTouch(0x10_0000, 16);

        var before = CachedBy(smmu, 0x11);
        Assert.That(before.Iotlb, Has.Count.EqualTo(16), "guest B's translations are cached");

        var random = new Random(20261121);
        var batch = new SmmuCommand[128];
        int sent = 0, refused = 0, guestALosses = 0;
        while (sent < 100_000)
        {
            int n = Math.Min(random.Next(1, batch.Length + 1), 100_000 - sent);
            for (int i = 0; i < n; i++)
            {
                batch[i] = RandomCommand(random);
            }

            int done = 0;
            while (done < n)
            {
                var rc = guestA.Invalidate(batch.AsSpan(done, n - done), out uint entryNum);
                done += (int)entryNum;
                if (rc != Errno.Success)
                {
                    Assert.That(rc, Is.EqualTo(Errno.EIO), "only refused entries fail");
                    refused++;
                    done++; // skip the refused entry, as a VMM does after reporting it to its guest
                }
            }

            sent += n;
            var after = CachedBy(smmu, 0x11);
            Assert.That(after.Iotlb, Is.EquivalentTo(before.Iotlb), $"guest B's IOTLB changed after {sent} entries");
            Assert.That(after.Atc, Is.EqualTo(before.Atc), $"guest B's ATC changed after {sent} entries");

            if (smmu.Iotlb.Snapshot().Count(e => e.Vmid != before.Vmid) < 16)
            {
                guestALosses++;
                RetouchGuestA(guestA);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.GreaterThan(100), "the stream had entries the host must refuse");
            Assert.That(guestALosses, Is.GreaterThan(100), "the stream did invalidate guest A's own entries");
        });
    }

    private static (ushort Vmid, List<TlbEntry> Iotlb, List<TlbEntry> Atc) CachedBy(SmmuV3 smmu, uint sid)
    {
        // Guest B's entries are those of its VMID; its device's ATC is keyed by its physical SID.
        var all = smmu.Iotlb.Snapshot();
        ushort vmid = smmu.ConfigCache.TryGetSte(sid, out var ste) ? ste.S2Vmid : (ushort)0;
        return (vmid, all.Where(e => e.Vmid == vmid).OrderBy(e => e.InputBase).ToList(), [.. smmu.GetAtc(sid)!.Snapshot().OrderBy(e => e.InputBase)]);
    }

    private static void RetouchGuestA(SmmuGuest guest)
    {
        Span<byte> b = stackalloc byte[8];
        for (int i = 0; i < 16; i++)
        {
            guest.Device.DmaRead(0x10_0000 + ((ulong)i * 4096), b);
        }
    }

    /// <summary>A VMID a guest might try: usually a small one, so the other guest's VMID comes up often.</summary>
    private static ulong Vmid(Random r) => r.Next(10) == 0 ? (ulong)r.NextInt64(0, 65536) : (ulong)r.NextInt64(0, 8);

    /// <summary>Any opcode a guest might send, with random fields: VMIDs, ASIDs, vSIDs, ranges, reserved bits.</summary>
    private static SmmuCommand RandomCommand(Random r)
    {
        var op = Opcodes[r.Next(Opcodes.Length)];
        ulong w0 = (byte)op;
        ulong w1 = 0;
        switch (op)
        {
            case SmmuOpcode.TLBI_NH_VA:
            case SmmuOpcode.TLBI_NH_VAA:
            case SmmuOpcode.TLBI_S2_IPA:
                w0 |= (ulong)r.NextInt64(0, 4) << 48 | Vmid(r) << 32 | (ulong)r.NextInt64(0, 4) << 12 | (ulong)r.NextInt64(0, 6) << 20;
                w1 = (0x10_0000UL + ((ulong)r.NextInt64(0, 32) << 12)) | (ulong)r.NextInt64(0, 4) << 10 | (ulong)r.NextInt64(0, 4) << 8 | (ulong)r.NextInt64(0, 2);
                break;
            case SmmuOpcode.TLBI_NH_ASID:
            case SmmuOpcode.TLBI_NH_ALL:
            case SmmuOpcode.TLBI_S12_VMALL:
                w0 |= (ulong)r.NextInt64(0, 4) << 48 | Vmid(r) << 32;
                break;
            case SmmuOpcode.ATC_INV:
            case SmmuOpcode.CFGI_CD:
            case SmmuOpcode.CFGI_CD_ALL:
            case SmmuOpcode.CFGI_STE:
            case SmmuOpcode.CFGI_STE_RANGE:
                // vSIDs 0..3 (1 is the guest's own device) and 0x10..0x13 (the physical SIDs, the other guest's too).
                w0 |= ((ulong)r.NextInt64(0, 4) | (r.Next(2) == 0 ? 0x10UL : 0)) << 32;
                w1 = op == SmmuOpcode.ATC_INV ? (ulong)r.NextInt64(0, 53) : (ulong)r.NextInt64(0, 32);
                break;
        }

        if (r.Next(50) == 0)
        {
            w0 |= 1UL << r.Next(8, 64); // sometimes a stray bit, possibly reserved
        }

        return new SmmuCommand(w0, w1);
    }
}
