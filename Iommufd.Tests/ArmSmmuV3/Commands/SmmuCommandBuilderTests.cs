using Iommufd.ArmSmmuV3.Hardware;
using B = Iommufd.ArmSmmuV3.Hardware.SmmuCommandBuilder;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>Argument checks of the builders: values that cannot be encoded are programmer errors.</summary>
[TestFixture]
public class SmmuCommandBuilderTests
{
    private static IEnumerable<TestCaseData> UnencodableArguments()
    {
        static TestCaseData Case(string name, string param, TestDelegate build) =>
            new TestCaseData(build, param).SetArgDisplayNames(name);

        yield return Case("SSID above 20 bits", "ssid", () => B.CfgiCd(1, 0x10_0000, true));
        yield return Case("PREFETCH_CONFIG SSID", "ssid", () => B.PrefetchConfig(1, 0x10_0000, true));
        yield return Case("PREFETCH_ADDR Size above 5 bits", "size", () => B.PrefetchAddr(1, 0, false, 0x1000, 32));
        yield return Case("PREFETCH_ADDR unaligned", "address", () => B.PrefetchAddr(1, 0, false, 0x1001, 0));
        yield return Case("Range above 31", "range", () => B.CfgiSteRange(1, 32));
        yield return Case("VA not 4K aligned", "address", () => B.TlbiNhVa(1, 1, 0x4000_0800, true, 0, 0, 0, 0));
        yield return Case("TTL above 3", "ttl", () => B.TlbiNhVa(1, 1, 0x1000, true, 4, 1, 0, 0));
        yield return Case("TG above 3", "tg", () => B.TlbiNhVaa(1, 0x1000, true, 0, 4, 0, 0));
        yield return Case("NUM above 31", "num", () => B.TlbiEl2Va(1, 0x1000, true, 0, 1, 32, 0));
        yield return Case("SCALE above 63", "scale", () => B.TlbiEl3Va(0x1000, true, 0, 1, 0, 64));
        yield return Case("IPA above 2^56", "ipa", () => B.TlbiS2Ipa(1, 1UL << 56, true, 0, 0, 0, 0));
        yield return Case("IPA not 4K aligned", "ipa", () => B.TlbiSS2Ipa(1, 0x1008, true, 0, 0, 0, 0));
        yield return Case("ATC_INV Size above 6 bits", "size", () => B.AtcInv(1, 0, false, false, 0, 64));
        yield return Case("ATC_INV unaligned", "address", () => B.AtcInv(1, 0, false, false, 0xfff, 0));
        yield return Case("PRGIndex above 9 bits", "prgIndex", () => B.PriResp(1, 0, false, 0x200, 2));
        yield return Case("Resp above 2 bits", "resp", () => B.PriResp(1, 0, false, 0, 4));
        yield return Case("CS above 2 bits", "cs", () => B.CmdSync(4));
        yield return Case("MSH above 2 bits", "msh", () => B.CmdSync(0, msh: 4));
        yield return Case("MSIAttr above 4 bits", "msiAttr", () => B.CmdSync(0, msiAttr: 0x10));
        yield return Case("MSIAddress unaligned", "msiAddress", () => B.CmdSync(1, msiAddress: 0x8000_0002));
        yield return Case("MSIAddress above 2^56", "msiAddress", () => B.CmdSync(1, msiAddress: 1UL << 56));
        yield return Case("DPTI_PA above 2^56", "pa", () => B.DptiPa(0x1000_0000_0000_0000));
    }

    [TestCaseSource(nameof(UnencodableArguments))]
    public void An_unencodable_argument_throws_ArgumentOutOfRangeException_naming_it(TestDelegate build, string param)
    {
        Assert.That(build,
            Throws.TypeOf<ArgumentOutOfRangeException>()
                .With.Property(nameof(ArgumentException.ParamName)).EqualTo(param));
    }

    [Test]
    public void Largest_encodable_values_are_accepted()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(B.CfgiCd(uint.MaxValue, B.MaxSubstreamId, true).SubstreamId, Is.EqualTo(0xF_FFFFu));
            Assert.That(B.CfgiSteRange(0, 31).Range, Is.EqualTo(31));
            Assert.That(B.TlbiNhVa(0xffff, 0xffff, 0xffff_ffff_ffff_f000, true, 3, 3, 31, 63).Scale, Is.EqualTo(63));
            Assert.That(B.AtcInv(1, 0, false, false, 0, 63).AtcSize, Is.EqualTo(63));
            Assert.That(B.PriResp(1, 0, false, 0x1ff, 3).PrgIndex, Is.EqualTo(0x1ff));
            Assert.That(B.CmdSync(3, 0x00ff_ffff_ffff_fffc, uint.MaxValue, 3, 0xf).MsiAddress,
                Is.EqualTo(0x00ff_ffff_ffff_fffcUL));
            Assert.That(B.PrefetchAddr(1, 0, false, 0, 31).PrefetchSize, Is.EqualTo(31));
        }
    }

    [Test]
    public void Encodable_but_illegal_values_are_built_for_the_hardware_model_to_reject()
    {
        using (Assert.EnterMultipleScope())
        {
            // CS = 3 is Reserved (CERROR_ILL), but it encodes: w0[13:12] = 3 -> 0x3000.
            Assert.That(B.CmdSync(3).Word0, Is.EqualTo(0x0000_0000_0000_3046UL));
            // Resp = 3 is ILLEGAL: w1[13:12] = 3 -> 0x3000.
            Assert.That(B.PriResp(0, 0, false, 0, 3).Word1, Is.EqualTo(0x0000_0000_0000_3000UL));
            // NUM = SCALE = TTL = 0 with TG = 4K is the reserved range combination: TG only, w1 = 0x400.
            Assert.That(B.TlbiNhVa(0, 0, 0, false, 0, 1, 0, 0).Word1, Is.EqualTo(0x0000_0000_0000_0400UL));
        }
    }

    [Test]
    public void Builders_leave_SSec_clear_and_WithSSec_sets_it()
    {
        SmmuCommand ste = B.CfgiSte(0x10, true);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ste.SSec, Is.False);
            Assert.That(ste.WithSSec(true).Word0, Is.EqualTo(0x0000_0010_0000_0403UL));
            Assert.That(ste.WithSSec(true).WithSSec(false), Is.EqualTo(ste));
        }
    }

    [Test]
    public void Builders_do_not_allocate()
    {
        B.TlbiNhVa(1, 2, 0x1000, true, 3, 1, 0, 0);
        B.CmdSync(1, 0x8000_0040, 1, 3, 0xf);
        B.AtcInv(1, 2, true, true, 0x1000, 52);

        long before = GC.GetAllocatedBytesForCurrentThread();
        ulong sink = 0;
        for (int i = 0; i < 1000; i++)
        {
            sink ^= B.TlbiNhVa((ushort)i, 2, 0x1000, true, 3, 1, 0, 0).Word0;
            sink ^= B.CmdSync(1, 0x8000_0040, (uint)i, 3, 0xf).Word0;
            sink ^= B.AtcInv((uint)i, 2, true, true, 0x1000, 52).Word1;
            sink ^= B.CfgiAll().Word1;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(allocated, Is.Zero);
            Assert.That(sink, Is.Not.EqualTo(ulong.MaxValue));
        }
    }
}
