using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Support;
using static Iommufd.ArmSmmuV3.Driver.GuestCommandConverter;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// The guest-command conversion's fast path (a run of TLBI_NH_* entries without reserved bits or a range encoding)
/// takes exactly the decisions of the full rule (arm-smmu-v3-iommufd.c arm_vsmmu_convert_user_cmd(), kept strict;
/// the range rules of spec §4.4.1.1): random command words, seeded, the seed printed (replay: IOMMUFD_CONVERT_SEED).
/// </summary>
[TestFixture]
public class GuestCommandFastPathTests
{
    private const ushort Vmid = 9;
    private const int Rounds = 20_000;
    private const uint KnownVirtualSid = 0x21;
    private const uint PhysicalSid = 0x3456;

    private static readonly SmmuOpcode[] Forwardable =
    [
        SmmuOpcode.TLBI_NH_ALL, SmmuOpcode.TLBI_NH_ASID, SmmuOpcode.TLBI_NH_VA, SmmuOpcode.TLBI_NH_VAA,
        SmmuOpcode.TLBI_NSNH_ALL, SmmuOpcode.ATC_INV, SmmuOpcode.CFGI_CD, SmmuOpcode.CFGI_CD_ALL,
    ];

    private static IEnumerable<TestCaseData> Hosts()
    {
        foreach (int revision in new[] { 0, 1, 4 })
        {
            foreach (bool ril in new[] { false, true })
            {
                foreach (bool ds in new[] { false, true })
                {
                    yield return new TestCaseData(revision, ril, ds).SetArgDisplayNames($"SMMUv3.{revision}", ril ? "RIL" : "no RIL", ds ? "DS" : "no DS");
                }
            }
        }
    }

    [TestCaseSource(nameof(Hosts))]
    public void A_TLBI_by_address_without_range_fields_is_legal_whatever_the_host(int revision, bool ril, bool ds)
    {
        int seed = Seed();
        var random = new Random(seed);
        for (int round = 0; round < Rounds; round++)
        {
            var command = RandomCommand(random, Host(revision, ril, ds));
            if (RangeInvalidation.IsPlain(command.Word0, command.Word1))
            {
                Assert.That(RangeInvalidation.IsLegal(command, ril, ds), Is.True, $"seed {seed}, round {round}: {command}");
            }
        }
    }

    [TestCaseSource(nameof(Hosts))]
    public void The_fast_path_converts_an_entry_only_as_the_full_rule_does(int revision, bool ril, bool ds)
    {
        int seed = Seed();
        var random = new Random(seed);
        var host = Host(revision, ril, ds);
        var implemented = SmmuCommandLayout.ImplementedMasks(revision);
        var context = new OneDevice();
        int fast = 0, fullOnly = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var command = RandomCommand(random, host);
            var viaFast = command;
            var viaFull = command;
            int taken = ConvertPlainTlbis(new Span<SmmuCommand>(ref viaFast), implemented, (ulong)Vmid << 32);
            var refusal = ConvertEntry(ref viaFull, Vmid, context, host, implemented);
            string where = $"seed {seed}, round {round}: {command}";
            if (taken == 1)
            {
                fast++;
                Assert.That((refusal, viaFast), Is.EqualTo((Refusal.None, viaFull)), where);
            }
            else
            {
                Assert.That(viaFast, Is.EqualTo(command), $"{where}: the fast path left it to the full rule, unchanged");
                fullOnly += refusal == Refusal.None && command.Opcode is >= SmmuOpcode.TLBI_NH_ALL and <= SmmuOpcode.TLBI_NH_VAA ? 1 : 0;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fast, Is.GreaterThan(Rounds / 10), $"seed {seed}: entries the fast path took");
            Assert.That(fullOnly, Is.GreaterThan(ril ? Rounds / 100 : -1), $"seed {seed}: legal range encodings left to the full rule");
        }
    }

    /// <summary>
    /// Over a batch the fast path takes four entries at a time where the host has 512-bit vectors; it must stop at the
    /// entry, and rewrite the entries, exactly as it does entry by entry (a one-entry span never reaches the vectors).
    /// Batches of mostly plain TLBIs, with an entry of any shape now and then, so that runs are long and end anywhere
    /// in a group of four.
    /// </summary>
    [TestCaseSource(nameof(Hosts))]
    public void The_fast_path_over_a_batch_stops_and_rewrites_as_it_does_entry_by_entry(int revision, bool ril, bool ds)
    {
        int seed = Seed();
        TestContext.Out.WriteLine($"512-bit vectors: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");
        var random = new Random(seed);
        var host = Host(revision, ril, ds);
        var implemented = SmmuCommandLayout.ImplementedMasks(revision);
        ulong vmidField = (ulong)Vmid << 32;
        int longRuns = 0;
        for (int round = 0; round < Rounds / 20; round++)
        {
            var batch = new SmmuCommand[random.Next(1, 65)];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = random.Next(24) == 0 ? RandomCommand(random, host) : PlainTlbi(random, implemented);
            }

            var viaBatch = (SmmuCommand[])batch.Clone();
            int taken = ConvertPlainTlbis(viaBatch, implemented, vmidField);

            int expectedTaken = batch.Length;
            var expected = (SmmuCommand[])batch.Clone();
            for (int i = 0; i < batch.Length; i++)
            {
                if (ConvertPlainTlbis(new Span<SmmuCommand>(ref expected[i]), implemented, vmidField) == 0)
                {
                    expectedTaken = i;
                    break;
                }
            }

            string where = $"seed {seed}, round {round}";
            Assert.That(taken, Is.EqualTo(expectedTaken), where);
            Assert.That(viaBatch, Is.EqualTo(expected), $"{where}: {taken} of {batch.Length} taken");
            longRuns += taken >= 8 ? 1 : 0;
        }

        Assert.That(longRuns, Is.GreaterThan(Rounds / 200), $"seed {seed}: batches with a run of 8 or more taken");
    }

    [TestCaseSource(nameof(Hosts))]
    public void A_batch_is_converted_as_the_checks_alone_and_the_rewrite_of_each_entry_say(int revision, bool ril, bool ds)
    {
        int seed = Seed();
        var random = new Random(seed);
        var host = Host(revision, ril, ds);
        var context = new OneDevice();
        int refused = 0;
        for (int round = 0; round < Rounds / 20; round++)
        {
            var batch = new SmmuCommand[random.Next(1, 65)];
            for (int i = 0; i < batch.Length; i++)
            {
                // Mostly entries the host accepts, so that batches run past their first entry.
                do
                {
                    batch[i] = RandomCommand(random, host);
                }
                while (random.Next(8) != 0 && Expected(batch[i], host).Refusal != Refusal.None);
            }

            var converted = (SmmuCommand[])batch.Clone();
            var refusal = ConvertAll(converted, Vmid, context, host, out int count);

            int expectedCount = Array.FindIndex(batch, c => Expected(c, host).Refusal != Refusal.None);
            expectedCount = expectedCount < 0 ? batch.Length : expectedCount;
            string where = $"seed {seed}, round {round}";
            Assert.That(count, Is.EqualTo(expectedCount), where);
            Assert.That(refusal, Is.EqualTo(count == batch.Length ? Refusal.None : Expected(batch[count], host).Refusal), $"{where}: entry {count}");
            for (int i = 0; i < batch.Length; i++)
            {
                Assert.That(converted[i], Is.EqualTo(i < count ? Expected(batch[i], host).Issued : batch[i]), $"{where}: entry {i} of {batch.Length}");
            }

            refused += refusal == Refusal.None ? 0 : 1;
        }

        Assert.That(refused, Is.InRange(1, (Rounds / 20) - 1), $"seed {seed}: batches refused part-way");
    }

    private static int Seed()
    {
        int seed = EnvironmentSettings.Seed("IOMMUFD_CONVERT_SEED");
        TestContext.Out.WriteLine($"seed {seed} (replay: IOMMUFD_CONVERT_SEED={seed})");
        return seed;
    }

    private static ProbedFeatures Host(int revision, bool ril, bool ds) =>
        ProbedFeatures.From(new SmmuV3Features { ArchMinorRevision = revision, RangeInvalidation = ril, Ds = ds });

    /// <summary>
    /// The reference: <see cref="Validate"/>'s answer (its own reserved-bit and field code), UnknownStreamId for a
    /// StreamID the vIOMMU does not have, and the rewrite the uAPI promises.
    /// </summary>
    private static (Refusal Refusal, SmmuCommand Issued) Expected(in SmmuCommand c, in ProbedFeatures host)
    {
        var refusal = Validate(c, host);
        if (refusal != Refusal.None)
        {
            return (refusal, c);
        }

        return c.Opcode switch
        {
            SmmuOpcode.TLBI_NSNH_ALL => (Refusal.None, SmmuCommandBuilder.TlbiNhAll(Vmid)),
            SmmuOpcode.ATC_INV or SmmuOpcode.CFGI_CD or SmmuOpcode.CFGI_CD_ALL => c.StreamId == KnownVirtualSid
                ? (Refusal.None, c.WithStreamId(PhysicalSid))
                : (Refusal.UnknownStreamId, c),
            _ => (Refusal.None, c.WithVmid(Vmid)),
        };
    }

    /// <summary>
    /// Random words around the shapes the rule tells apart: mostly a forwardable opcode, mostly only the bits it
    /// implements on the host, half with no range fields, the rest with each range field kept or cleared.
    /// </summary>
    private static SmmuCommand RandomCommand(Random random, in ProbedFeatures host)
    {
        byte opcode = random.Next(4) switch
        {
            0 or 1 => (byte)(0x10 + random.Next(4)),
            2 => (byte)Forwardable[random.Next(Forwardable.Length)],
            _ => (byte)random.Next(256),
        };
        ulong w0 = (Word(random) & ~SmmuCommandLayout.W0_OPCODE) | opcode;
        ulong w1 = Word(random);
        if (random.Next(4) != 0)
        {
            var implemented = SmmuCommandLayout.ImplementedMasks(host.ArchMinorRevision);
            w0 &= implemented[opcode * 2] & ~SmmuCommandLayout.W0_SSEC;
            w1 &= implemented[(opcode * 2) + 1];
        }

        if (random.Next(2) == 0)
        {
            w0 &= ~RangeInvalidation.Word0Fields;
            w1 &= ~RangeInvalidation.Word1Fields;
        }
        else
        {
            w0 &= random.Next(2) == 0 ? ~SmmuCommandLayout.W0_NUM : ulong.MaxValue;
            w0 &= random.Next(2) == 0 ? ~SmmuCommandLayout.W0_SCALE : ulong.MaxValue;
            w1 &= random.Next(2) == 0 ? ~SmmuCommandLayout.W1_TG : ulong.MaxValue;
            w1 &= random.Next(2) == 0 ? ~SmmuCommandLayout.W1_TTL : ulong.MaxValue;
        }

        if (random.Next(2) == 0)
        {
            w0 = (w0 & ~SmmuCommandLayout.W0_SID) | ((ulong)KnownVirtualSid << 32);
        }

        return new SmmuCommand(w0, w1);
    }

    /// <summary>A TLBI_NH_ALL, _ASID, _VA or _VAA with random values in the fields it implements on the host, no SSec and no range fields.</summary>
    private static SmmuCommand PlainTlbi(Random random, ReadOnlySpan<ulong> implemented)
    {
        int opcode = (int)SmmuOpcode.TLBI_NH_ALL + random.Next(4);
        ulong w0 = (Word(random) & implemented[opcode * 2] & ~(SmmuCommandLayout.W0_SSEC | RangeInvalidation.Word0Fields)
            & ~SmmuCommandLayout.W0_OPCODE) | (uint)opcode;
        ulong w1 = Word(random) & implemented[(opcode * 2) + 1] & ~RangeInvalidation.Word1Fields;
        return new SmmuCommand(w0, w1);
    }

    private static ulong Word(Random random) => ((ulong)(uint)random.Next() << 33) ^ ((ulong)(uint)random.Next() << 2) ^ (uint)random.Next(4);

    /// <summary>A vIOMMU with one vDEVICE: virtual StreamID <see cref="KnownVirtualSid"/> on physical <see cref="PhysicalSid"/>.</summary>
    private sealed class OneDevice : IViommuContext
    {
        private readonly EndpointDevice _device = new("dev", PhysicalSid, atsCapable: true, null!);

        public uint Id => 1;

        public IPagingDomain Parent => throw new NotSupportedException();

        public bool TryFindDevice(ulong virtId, out EndpointDevice device)
        {
            device = _device;
            return virtId == KnownVirtualSid;
        }

        public bool TryGetVirtId(EndpointDevice device, out ulong virtId)
        {
            virtId = KnownVirtualSid;
            return device == _device;
        }

        public Errno AllocMmap(IMmioRegion region, out ulong offset) => throw new NotSupportedException();

        public void FreeMmap(ulong offset) => throw new NotSupportedException();

        public Errno ReportEvent(IommuVeventqType type, ReadOnlySpan<byte> payload) => throw new NotSupportedException();
    }
}
