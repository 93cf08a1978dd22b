using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// Live STE updates in the order of arm-smmu-v3.c arm_smmu_write_entry() (and its KUnit checks in
/// arm-smmu-v3-test.c): after every 64-bit store the SMMU sees the old configuration, the new one, or V = 0 (a
/// breaking update, only when the used bits of two or more words change); a hitless update needs no V = 0.
/// </summary>
[TestFixture]
public class SteWriterTests
{
    private static readonly ulong[] Abort = [1, 0, 0, 0];

    private static readonly ulong[] Bypass = [1 | (StreamTableEntry.ConfigBypass << 1), 1UL << 44, 0, 0];

    [TestCase("abort", "s2 vmid 1", 2, false, TestName = "Abort to stage 2 is hitless: the other words, then Config")]
    [TestCase("s2 vmid 1", "abort", 2, false, TestName = "Stage 2 to abort is hitless")]
    [TestCase("s2 vmid 1", "s2 vmid 2", 3, true, TestName = "Stage 2 to another VMID and table is a breaking update")]
    [TestCase("s2 vmid 1", "s2 vmid 1, other table", 1, false, TestName = "Only S2TTB changing is one hitless store")]
    [TestCase("bypass", "s1", 3, false, TestName = "Bypass to stage 1 is hitless: SHCFG clears in a third step")]
    [TestCase("s1", "nested", 3, true, TestName = "Stage 1 to nested changes three words: breaking")]
    [TestCase("s2 vmid 1", "s2 vmid 1", 0, false, TestName = "Writing the same STE changes nothing and needs no sync")]
    public void Every_state_the_SMMU_can_fetch_is_the_old_STE_the_new_one_or_invalid(string from, string to, int syncs, bool breaking)
    {
        var initial = Ste(from);
        var target = Ste(to);
        var entry = (ulong[])initial.Clone();
        var sink = new RecordingSink(entry);

        int n = SteWriter.Write(entry, target, ref sink);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry, Is.EqualTo(target));
            Assert.That(n, Is.EqualTo(syncs));
            Assert.That(sink.Syncs, Is.EqualTo(syncs));
            foreach (var state in sink.States)
            {
                bool invalid = (state[0] & 1) == 0;
                Assert.That(invalid || SameInUsedBits(state, initial) || SameInUsedBits(state, target), Is.True, string.Join(" ", state.Select(w => w.ToString("x16"))));
            }

            Assert.That(sink.States.Any(s => (s[0] & 1) == 0), Is.EqualTo(breaking), "V = 0 on the way");
        }
    }

    [Test]
    public void The_used_bits_of_a_bypass_STE_are_V_Config_and_SHCFG()
    {
        var used = new ulong[SteWriter.Qwords];

        StreamTableEntry.UsedBits(Bypass, used);

        Assert.That(used, Is.EqualTo(new[] { 0xFUL, 3UL << 44, 0UL, 0UL }));
    }

    private static bool SameInUsedBits(ulong[] state, ulong[] reference)
    {
        var used = new ulong[SteWriter.Qwords];
        StreamTableEntry.UsedBits(reference, used);
        return Enumerable.Range(0, SteWriter.Qwords).All(i => ((state[i] ^ reference[i]) & used[i]) == 0);
    }

    private static ulong[] Ste(string name)
    {
        const ulong S2Word2 = (25UL << 32) | (1UL << 38) | (5UL << 48) | (1UL << 51) | (1UL << 58);
        return name switch
        {
            "abort" => Abort,
            "bypass" => Bypass,
            "s2 vmid 1" => [1 | (StreamTableEntry.ConfigS2Translate << 1), 1UL << 44, S2Word2 | 1, 0x8000_0000],
            "s2 vmid 2" => [1 | (StreamTableEntry.ConfigS2Translate << 1), 1UL << 44, S2Word2 | 2, 0x9000_0000],
            "s2 vmid 1, other table" => [1 | (StreamTableEntry.ConfigS2Translate << 1), 1UL << 44, S2Word2 | 1, 0xA000_0000],
            "s1" => [1 | (StreamTableEntry.ConfigS1Translate << 1) | 0x7000_0000, 0xD4, 0, 0],
            "nested" => [1 | (StreamTableEntry.ConfigNested << 1) | 0x7100_0000, 0xD4 | (1UL << 19), S2Word2 | 3, 0x8000_0000],
            _ => throw new ArgumentException(name),
        };
    }

    /// <summary>Records the entry after every store, as a fetch at that moment would read it, and counts syncs.</summary>
    private struct RecordingSink(ulong[] entry) : ISteSink
    {
        private readonly ulong[] _memory = (ulong[])entry.Clone();

        public List<ulong[]> States { get; } = [];

        public int Syncs { get; private set; }

        public readonly void WriteQword(int index, ulong value)
        {
            _memory[index] = value;
            States.Add((ulong[])_memory.Clone());
        }

        public void Sync() => Syncs++;
    }
}
