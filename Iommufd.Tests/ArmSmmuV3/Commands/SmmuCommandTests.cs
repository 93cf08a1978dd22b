using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>The entry struct itself: byte order, the With… rewrites a driver uses, shared bits, equality.</summary>
[TestFixture]
public class SmmuCommandTests
{
    [Test]
    public void Read_takes_word0_from_bytes_0_to_7_and_word1_from_bytes_8_to_15_little_endian()
    {
        byte[] bytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10];

        SmmuCommand command = SmmuCommand.Read(bytes);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.Word0, Is.EqualTo(0x0807_0605_0403_0201UL));
            Assert.That(command.Word1, Is.EqualTo(0x100F_0E0D_0C0B_0A09UL));
            Assert.That(command.Opcode, Is.EqualTo((SmmuOpcode)0x01));
        }
    }

    [Test]
    public void Read_and_Write_use_only_the_first_16_bytes()
    {
        byte[] queue = new byte[32];
        Array.Fill(queue, (byte)0xEE);
        var command = new SmmuCommand(0x1122_3344_5566_7788, 0x99AA_BBCC_DDEE_FF00);

        command.Write(queue);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(queue[16..], Is.All.EqualTo((byte)0xEE));
            Assert.That(queue[0], Is.EqualTo((byte)0x88));
            Assert.That(queue[15], Is.EqualTo((byte)0x99));
            Assert.That(SmmuCommand.Read(queue), Is.EqualTo(command));
        }
    }

    [Test]
    public void Read_and_Write_reject_a_span_shorter_than_an_entry()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => SmmuCommand.Read(new byte[15]),
                Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("source"));
            Assert.That(() => default(SmmuCommand).Write(new byte[8]),
                Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("destination"));
        }
    }

    [Test]
    public void WithVmid_replaces_only_bits_47_to_32()
    {
        // TLBI_NH_VA vmid=1 asid=0x2a, and its w1 untouched.
        var command = new SmmuCommand(0x002A_0001_0000_0012, 0x0000_0000_4000_1701);

        SmmuCommand rewritten = command.WithVmid(0xBEEF);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rewritten.Word0, Is.EqualTo(0x002A_BEEF_0000_0012UL));
            Assert.That(rewritten.Word1, Is.EqualTo(0x0000_0000_4000_1701UL));
            Assert.That(rewritten.Asid, Is.EqualTo(0x2a));
        }
    }

    [Test]
    public void WithStreamId_replaces_only_bits_63_to_32()
    {
        var command = new SmmuCommand(0x0000_1234_FFFF_FFFF, 5);

        SmmuCommand rewritten = command.WithStreamId(0xABCD_0001);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rewritten.Word0, Is.EqualTo(0xABCD_0001_FFFF_FFFFUL));
            Assert.That(rewritten.Word1, Is.EqualTo(5UL));
        }
    }

    [Test]
    public void WithOpcode_and_WithVmid_turn_a_guest_TLBI_NSNH_ALL_into_TLBI_NH_ALL_for_its_VMID()
    {
        // The host conversion of arm-smmu-v3-iommufd.c arm_vsmmu_convert_user_cmd(): 0x30 -> 0x10 with the S2 parent's
        // VMID in w0[47:32].
        SmmuCommand converted = SmmuCommandBuilder.TlbiNsnhAll().WithOpcode(SmmuOpcode.TLBI_NH_ALL).WithVmid(7);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(converted.Word0, Is.EqualTo(0x0000_0007_0000_0010UL));
            Assert.That(converted.Word1, Is.Zero);
        }
    }

    [Test]
    public void WithOpcode_keeps_every_other_bit()
    {
        var command = new SmmuCommand(0xFFFF_FFFF_FFFF_FF12, 0x1234);

        SmmuCommand rewritten = command.WithOpcode(SmmuOpcode.TLBI_NH_VAA);

        Assert.That(rewritten, Is.EqualTo(new SmmuCommand(0xFFFF_FFFF_FFFF_FF13, 0x1234)));
    }

    [Test]
    public void With_methods_and_property_reads_do_not_allocate()
    {
        var command = new SmmuCommand(0x002A_0001_0000_0012, 0x0000_0000_4000_1701);
        Span<byte> slot = stackalloc byte[16];
        command.WithVmid(1).WithStreamId(2).WithOpcode(SmmuOpcode.TLBI_NH_ALL).WithSSec(false).Write(slot);

        long before = GC.GetAllocatedBytesForCurrentThread();
        ulong sink = 0;
        for (int i = 0; i < 1000; i++)
        {
            SmmuCommand c = command.WithVmid((ushort)i).WithStreamId((uint)i).WithOpcode(SmmuOpcode.TLBI_NH_VA)
                .WithSSec(false);
            c.Write(slot);
            c = SmmuCommand.Read(slot);
            sink += c.Address + c.MsiAddress + c.SubstreamId;
            sink += (ulong)(c.Vmid + c.Asid + c.Num + c.Scale + c.Tg + c.Ttl);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(allocated, Is.Zero);
            Assert.That(sink, Is.Not.Zero);
        }
    }

    [Test]
    public void StreamID_VMID_ASID_and_MSIData_are_views_of_the_same_high_word()
    {
        var command = new SmmuCommand(0xAAAA_BBBB_0000_0000, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.StreamId, Is.EqualTo(0xAAAA_BBBBu));
            Assert.That(command.MsiData, Is.EqualTo(0xAAAA_BBBBu));
            Assert.That(command.Vmid, Is.EqualTo(0xBBBB));
            Assert.That(command.Asid, Is.EqualTo(0xAAAA));
        }
    }

    [Test]
    public void Bits_13_and_12_of_word0_read_as_NUM_CS_and_RESUME_Ac_Ab()
    {
        // w0[13:12] = 0b10: CS = 2 (SIG_SEV); RESUME Ab = 1, Ac = 0 (Linux's RESP = 2, abort).
        var command = new SmmuCommand(0x2000, 0);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.Cs, Is.EqualTo(2));
            Assert.That(command.Ab, Is.True);
            Assert.That(command.Ac, Is.False);
            Assert.That(command.Num, Is.EqualTo(2));
            Assert.That(command.SubstreamId, Is.EqualTo(2u));
        }
    }

    [Test]
    public void Addresses_drop_the_bits_below_their_field()
    {
        var command = new SmmuCommand(0, ulong.MaxValue);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.Address, Is.EqualTo(0xFFFF_FFFF_FFFF_F000UL));
            Assert.That(command.IpaAddress, Is.EqualTo(0x00FF_FFFF_FFFF_F000UL));
            Assert.That(command.MsiAddress, Is.EqualTo(0x00FF_FFFF_FFFF_FFFCUL));
            Assert.That(command.Stag, Is.EqualTo(0xFFFF));
            Assert.That(command.PrgIndex, Is.EqualTo(0x1FF));
            Assert.That(command.Range, Is.EqualTo(0x1F));
            Assert.That(command.AtcSize, Is.EqualTo(0x3F));
            Assert.That(command.PrefetchSize, Is.EqualTo(0x1F));
            Assert.That(command.Resp, Is.EqualTo(3));
            Assert.That(command.Ttl128, Is.True);
        }
    }

    [Test]
    public void Commands_with_the_same_words_are_equal()
    {
        var a = new SmmuCommand(0x12, 0x1000);
        var b = new SmmuCommand(0x12, 0x1000);
        var c = new SmmuCommand(0x12, 0x2000);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(a == b, Is.True);
            Assert.That(a != c, Is.True);
            Assert.That(a.Equals((object)b), Is.True);
            Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
            Assert.That(a, Is.Not.EqualTo(c));
        }
    }

    [Test]
    public void ToString_is_the_decoded_line()
    {
        SmmuCommand command = SmmuCommandBuilder.CfgiSte(0x10, true);

        Assert.That(command.ToString(), Is.EqualTo("CFGI_STE ssec=0 sid=0x10 leaf=1"));
    }
}
