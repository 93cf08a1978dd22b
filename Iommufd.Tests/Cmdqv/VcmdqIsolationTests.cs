using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// Two VMs with their own VINTFs on one SMMU: whatever one guest writes into its own VCMDQ, the other VM's IOTLB
/// and ATC entries stay exactly as they were. The stream names the other VM's VMID and its vSID and pSID often;
/// A's vSID is B's pSID and B's vSID is A's pSID, so only the SID replacement keeps them apart. Host fix-up is on,
/// so the trap-path commands run too. The guest handles errors as a driver does: a CERROR_ILL entry becomes a
/// CMD_SYNC, and GERRORN is toggled. Its CMD_SYNCs name MSI addresses in the other VM's RAM, which must stay
/// untouched.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class VcmdqIsolationTests(VcmdqBackend backend)
{
    private const int StreamLength = 20_000;
    private const ulong Va = 0x10_0000;
    private const int Pages = 16;
    private const ushort Asid = 3;

    private static readonly SmmuOpcode[] Opcodes =
    [
        // What the VCMDQ takes, several times over so that most of the stream reaches the SMMU.
        SmmuOpcode.TLBI_NH_ASID, SmmuOpcode.TLBI_NH_ASID, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VA,
        SmmuOpcode.ATC_INV, SmmuOpcode.ATC_INV, SmmuOpcode.ATC_INV, SmmuOpcode.CMD_SYNC, SmmuOpcode.CMD_SYNC,

        // What the host runs for the guest.
        SmmuOpcode.TLBI_NH_ALL, SmmuOpcode.TLBI_NSNH_ALL, SmmuOpcode.TLBI_NH_VAA, SmmuOpcode.CFGI_CD, SmmuOpcode.CFGI_CD_ALL,

        // What nobody may run for a guest.
        SmmuOpcode.TLBI_S12_VMALL, SmmuOpcode.TLBI_S2_IPA, SmmuOpcode.CFGI_STE, SmmuOpcode.CFGI_STE_RANGE, SmmuOpcode.TLBI_EL2_ALL,
        SmmuOpcode.PREFETCH_CONFIG,
    ];

    [Test]
    public void A_seeded_random_stream_of_20000_entries_in_one_VMs_VCMDQ_never_touches_the_other_VMs_IOTLB_or_ATC()
    {
        using var rig = new CmdqvRig(backend, o => o.HostFixup = true);
        using var a = new CmdqvGuest(rig, "a", vsid: CmdqvRig.SidB, Asid);
        using var b = new CmdqvGuest(rig, "b", vsid: CmdqvRig.SidA, Asid); // same ASID and crossed SIDs
        a.MapAndTouch(Va, Pages);
        b.MapAndTouch(Va, Pages);
        var q = a.AllocQueue(0, log2Entries: 8);
        var bIotlb = b.Iotlb;
        var bAtc = b.AtcEntries;
        Assert.That((bIotlb.Count, bAtc.Count), Is.EqualTo((Pages, Pages)), "B's translations are cached in the IOTLB and the ATC");

        var random = new Random(20_241_121);
        ulong canaryIpa = b.Ram.Allocate(4096, 4096);
        var fields = new Fields(a.Vmid, b.Vmid, b.Ram.Region.PhysicalAddressAt(canaryIpa - CmdqvGuest.RamIpa));
        var batch = new SmmuCommand[48];
        int errors = 0, atcTimeouts = 0, aLosses = 0, batches = 0;
        while (q.Written < StreamLength)
        {
            int n = (int)Math.Min(random.Next(1, batch.Length + 1), StreamLength - q.Written);
            for (int i = 0; i < n; i++)
            {
                batch[i] = RandomCommand(random, fields);
            }

            int aCachedBefore = a.Iotlb.Count + a.AtcCount;
            a.Device.AtsInvalidationsTimeOut = random.Next(20) == 0;
            q.Submit(batch.AsSpan(0, n));
            while (q.ErrorActive)
            {
                // Spec §7.1: CONS is on the failing entry; fix it, then acknowledge, and the queue goes on from CONS.
                if (q.Error == CommandError.CERROR_ILL)
                {
                    q.ReplaceAtCons(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
                    errors++;
                }
                else
                {
                    Assert.That(q.Error, Is.EqualTo(CommandError.CERROR_ATC_INV_SYNC), "the only other error a guest can cause");
                    atcTimeouts++;
                }

                q.Acknowledge();
            }

            a.Device.AtsInvalidationsTimeOut = false;
            batches++;
            Assert.That(q.Drained, Is.True, $"A's queue drained after batch {batches}");
            Assert.That(b.Iotlb, Is.EqualTo(bIotlb), $"B's IOTLB changed after {q.Written} entries");
            Assert.That(b.AtcEntries, Is.EqualTo(bAtc), $"B's ATC changed after {q.Written} entries");

            if (a.Iotlb.Count + a.AtcCount < aCachedBefore)
            {
                aLosses++;
            }

            a.Touch(Va, Pages);
        }

        Assert.Multiple(() =>
        {
            Assert.That(q.Written, Is.EqualTo(StreamLength));
            Assert.That(b.Ram.Bytes(canaryIpa, 4096).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "no CMD_SYNC wrote into B's RAM");
            Assert.That(fields.NamedOthers, Is.GreaterThan(StreamLength / 10), "the stream named B's VMID, vSID or pSID often");
            Assert.That(errors, Is.GreaterThan(500), "the stream had entries the VCMDQ must refuse");
            Assert.That(atcTimeouts, Is.GreaterThan(10), "and ATC invalidations that timed out");
            Assert.That(rig.Implementation.Fixups, Is.GreaterThan(500), "and entries the host ran for the guest");
            Assert.That(aLosses, Is.GreaterThan(batches / 2), "the stream did invalidate A's own entries");
        });
    }

    /// <summary>Any opcode a guest might write, with fields that name the other VM often.</summary>
    private static SmmuCommand RandomCommand(Random r, Fields f)
    {
        var op = r.Next(60) == 0 ? (SmmuOpcode)r.Next(256) : Opcodes[r.Next(Opcodes.Length)];
        ulong w0 = (byte)op;
        ulong w1 = 0;
        switch (op)
        {
            case SmmuOpcode.TLBI_NH_VA:
            case SmmuOpcode.TLBI_NH_VAA:
            case SmmuOpcode.TLBI_S2_IPA:
                w0 |= (RandomAsid(r) << 48) | (f.Vmid(r) << 32);
                if (r.Next(4) == 0)
                {
                    w0 |= ((ulong)r.Next(4) << 12) | ((ulong)r.Next(6) << 20); // NUM, SCALE
                    w1 |= ((ulong)r.Next(4) << 10) | ((ulong)r.Next(4) << 8); // TG, TTL
                }

                w1 |= (Va + ((ulong)r.Next(Pages + 4) << 12)) | (uint)r.Next(2);
                break;
            case SmmuOpcode.TLBI_NH_ASID:
            case SmmuOpcode.TLBI_NH_ALL:
            case SmmuOpcode.TLBI_S12_VMALL:
                w0 |= (RandomAsid(r) << 48) | (f.Vmid(r) << 32);
                break;
            case SmmuOpcode.ATC_INV:
                w0 |= f.Sid(r) << 32;
                w1 = (Va + ((ulong)r.Next(Pages) << 12)) | (uint)(r.Next(3) == 0 ? r.Next(54) : r.Next(3)); // Size 53 is illegal
                break;
            case SmmuOpcode.CFGI_CD:
            case SmmuOpcode.CFGI_CD_ALL:
            case SmmuOpcode.CFGI_STE:
            case SmmuOpcode.CFGI_STE_RANGE:
            case SmmuOpcode.PREFETCH_CONFIG:
                w0 |= f.Sid(r) << 32;
                w1 = (ulong)r.Next(2);
                break;
            case SmmuOpcode.CMD_SYNC:
                w0 |= ((ulong)r.Next(4) << 12) | (0xDEADUL << 32); // CS (3 is Reserved) and MSIData
                w1 = r.Next(2) == 0 ? f.Canary : 0; // an MSIAddress in the other VM's RAM
                break;
        }

        if (r.Next(50) == 0)
        {
            w0 |= 1UL << r.Next(8, 64); // sometimes a stray bit, possibly reserved
        }

        return new SmmuCommand(w0, w1);
    }

    /// <summary>The guests' ASID, the next one, or anything.</summary>
    private static ulong RandomAsid(Random r) => r.Next(4) == 0 ? (ulong)r.Next(65536) : (ulong)(Asid + r.Next(2));

    /// <summary>Field values: the other VM's often, counted.</summary>
    private sealed class Fields(ushort own, ushort other, ulong canary)
    {
        /// <summary>A host physical address in the other VM's RAM that nothing may write.</summary>
        public ulong Canary => canary;

        public int NamedOthers { get; private set; }

        public ulong Vmid(Random r) => r.Next(6) switch
        {
            0 or 1 or 2 => Named(other),
            3 => own,
            4 => 0,
            _ => (ulong)r.Next(65536),
        };

        /// <summary>A's vSID (= B's pSID), B's vSID (= A's pSID), device c's pSID, a small vSID, or anything.</summary>
        public ulong Sid(Random r) => r.Next(6) switch
        {
            0 or 1 => Named(CmdqvRig.SidB),
            2 => Named(CmdqvRig.SidA),
            3 => CmdqvRig.SidC,
            4 => (ulong)r.Next(4),
            _ => (ulong)r.Next(256),
        };

        private ulong Named(ulong value)
        {
            NamedOthers++;
            return value;
        }
    }

}
