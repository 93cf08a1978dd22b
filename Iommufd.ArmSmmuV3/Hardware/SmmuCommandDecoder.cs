using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using static Iommufd.ArmSmmuV3.Hardware.SmmuCommandLayout;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// Renders a command-queue entry as one readable line and reads that line back, for traces, logs and tests.
/// </summary>
/// <remarks>
/// <para>The text form is the opcode mnemonic followed by <c>key=value</c> pairs, one per field the opcode defines,
/// in a fixed order:</para>
/// <code>
/// TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1
/// CMD_SYNC cs=1 msh=3 msiattr=0xf msidata=0x0 msiaddr=0x80000040
/// CFGI_STE ssec=0 sid=0x10 leaf=1 res0!=0x800
/// RESERVED(0x5f) w0=0x000000000000005f w1=0x0000000000000000
/// IMPDEF(0x85) w0=0x0000000000000085 w1=0x0000000000000000
/// </code>
/// <list type="bullet">
///   <item>Identifiers, addresses, data and attributes are hex with <c>0x</c>; one-bit flags and small counts or
///   exponents (ttl, num, scale, range, size, cs, msh, resp) are decimal; TG is <c>0</c>, <c>4K</c>, <c>16K</c> or
///   <c>64K</c>.</item>
///   <item>Addresses are printed in place (<c>addr</c> = w1 &amp; [63:12], <c>msiaddr</c> = w1 &amp; [55:2]).</item>
///   <item><c>ttl128</c> is printed only when set: it exists only in newer spec revisions.</item>
///   <item>Any set bit that the opcode does not define is printed as <c>res0!=0x…</c>, a 128-bit value numbered
///   as the spec numbers the entry (bit 64 is w1[0]).</item>
/// </list>
/// <para>
/// <see cref="TryParse(ReadOnlySpan{char}, out SmmuCommand, out string)"/> reads the same form, so decoding then
/// parsing gives back the exact words of any entry. It also accepts decimal or hex for every number, keys in any
/// order or case, missing keys as zero, a <c>CMD_</c> prefix on mnemonics, and <c>CFGI_ALL</c> for CFGI_STE_RANGE
/// with Range = 31.
/// </para>
/// </remarks>
public static class SmmuCommandDecoder
{
    /// <summary>A buffer of this many characters always holds the decoded form of an entry.</summary>
    public const int MaxDecodedLength = 256;

    private const string ReservedPrefix = "RESERVED(";
    private const string ImpdefPrefix = "IMPDEF(";
    private const string Res0Key = "res0!";

    /// <summary>The decoded one-line form of <paramref name="command"/>.</summary>
    public static string Decode(in SmmuCommand command)
    {
        Span<char> buffer = stackalloc char[MaxDecodedLength];
        bool formatted = TryFormat(command, buffer, out int written);
        Debug.Assert(formatted, "MaxDecodedLength is too small.");
        return new string(buffer[..written]);
    }

    /// <summary>The decoded form of the 16-byte little-endian entry at the start of <paramref name="entry"/>.</summary>
    public static string Decode(ReadOnlySpan<byte> entry) => Decode(SmmuCommand.Read(entry));

    /// <summary>
    /// Writes the decoded form of <paramref name="command"/> without allocating; false if
    /// <paramref name="destination"/> is too short (<see cref="MaxDecodedLength"/> always suffices).
    /// </summary>
    public static bool TryFormat(in SmmuCommand command, Span<char> destination, out int charsWritten)
    {
        int pos = 0;
        bool ok = Format(command, destination, ref pos);
        charsWritten = ok ? pos : 0;
        return ok;
    }

    /// <summary>The mnemonic of an architected opcode (e.g. <c>TLBI_NH_VA</c>), or null for any other value.</summary>
    public static string? GetName(SmmuOpcode opcode) => opcode switch
    {
        SmmuOpcode.PREFETCH_CONFIG => "PREFETCH_CONFIG",
        SmmuOpcode.PREFETCH_ADDR => "PREFETCH_ADDR",
        SmmuOpcode.CFGI_STE => "CFGI_STE",
        SmmuOpcode.CFGI_STE_RANGE => "CFGI_STE_RANGE",
        SmmuOpcode.CFGI_CD => "CFGI_CD",
        SmmuOpcode.CFGI_CD_ALL => "CFGI_CD_ALL",
        SmmuOpcode.CFGI_VMS_PIDM => "CFGI_VMS_PIDM",
        SmmuOpcode.TLBI_NH_ALL => "TLBI_NH_ALL",
        SmmuOpcode.TLBI_NH_ASID => "TLBI_NH_ASID",
        SmmuOpcode.TLBI_NH_VA => "TLBI_NH_VA",
        SmmuOpcode.TLBI_NH_VAA => "TLBI_NH_VAA",
        SmmuOpcode.TLBI_EL3_ALL => "TLBI_EL3_ALL",
        SmmuOpcode.TLBI_EL3_VA => "TLBI_EL3_VA",
        SmmuOpcode.TLBI_EL2_ALL => "TLBI_EL2_ALL",
        SmmuOpcode.TLBI_EL2_ASID => "TLBI_EL2_ASID",
        SmmuOpcode.TLBI_EL2_VA => "TLBI_EL2_VA",
        SmmuOpcode.TLBI_EL2_VAA => "TLBI_EL2_VAA",
        SmmuOpcode.TLBI_S12_VMALL => "TLBI_S12_VMALL",
        SmmuOpcode.TLBI_S2_IPA => "TLBI_S2_IPA",
        SmmuOpcode.TLBI_NSNH_ALL => "TLBI_NSNH_ALL",
        SmmuOpcode.ATC_INV => "ATC_INV",
        SmmuOpcode.PRI_RESP => "PRI_RESP",
        SmmuOpcode.RESUME => "RESUME",
        SmmuOpcode.STALL_TERM => "STALL_TERM",
        SmmuOpcode.CMD_SYNC => "CMD_SYNC",
        SmmuOpcode.TLBI_S_EL2_ALL => "TLBI_S_EL2_ALL",
        SmmuOpcode.TLBI_S_EL2_ASID => "TLBI_S_EL2_ASID",
        SmmuOpcode.TLBI_S_EL2_VA => "TLBI_S_EL2_VA",
        SmmuOpcode.TLBI_S_EL2_VAA => "TLBI_S_EL2_VAA",
        SmmuOpcode.TLBI_S_S12_VMALL => "TLBI_S_S12_VMALL",
        SmmuOpcode.TLBI_S_S2_IPA => "TLBI_S_S2_IPA",
        SmmuOpcode.TLBI_SNH_ALL => "TLBI_SNH_ALL",
        SmmuOpcode.DPTI_ALL => "DPTI_ALL",
        SmmuOpcode.DPTI_PA => "DPTI_PA",
        _ => null,
    };

    /// <summary>Reads the text form back; see the remarks on <see cref="SmmuCommandDecoder"/>.</summary>
    /// <returns>
    /// True with <paramref name="error"/> empty, or false with <paramref name="command"/> zero and
    /// <paramref name="error"/> saying what is wrong.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static bool TryParse(string text, out SmmuCommand command, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text.AsSpan(), out command, out error);
    }

    /// <inheritdoc cref="TryParse(string, out SmmuCommand, out string)"/>
    public static bool TryParse(ReadOnlySpan<char> text, out SmmuCommand command, out string error)
    {
        command = default;
        int pos = 0;
        ReadOnlySpan<char> head = NextToken(text, ref pos);
        if (head.IsEmpty)
        {
            error = "The text holds no command.";
            return false;
        }

        bool reserved = head.StartsWith(ReservedPrefix, StringComparison.OrdinalIgnoreCase);
        bool impdef = head.StartsWith(ImpdefPrefix, StringComparison.OrdinalIgnoreCase);
        if (reserved || impdef)
        {
            return TryParseRawOpcode(head, impdef, out byte rawOpcode, out error)
                && TryParseRaw(text, pos, rawOpcode, out command, out error);
        }

        return TryParseFields(head, text, pos, out command, out error);
    }

    private static bool Format(in SmmuCommand command, Span<char> dst, ref int pos)
    {
        ulong w0 = command.Word0;
        ulong w1 = command.Word1;
        SmmuOpcode opcode = command.Opcode;

        if (!TryGetFields(opcode, out SmmuCommandFields fields))
        {
            return Append(dst, ref pos, IsImplementationDefined((byte)opcode) ? ImpdefPrefix : ReservedPrefix)
                && AppendHex(dst, ref pos, (byte)opcode, 2)
                && Append(dst, ref pos, ") w0=")
                && AppendHex(dst, ref pos, w0, 16)
                && Append(dst, ref pos, " w1=")
                && AppendHex(dst, ref pos, w1, 16);
        }

        if (!Append(dst, ref pos, GetName(opcode)))
        {
            return false;
        }

        uint rest = (uint)fields;
        while (rest != 0)
        {
            var field = (SmmuCommandFields)(rest & (0u - rest));
            rest &= rest - 1;
            ulong value = GetField(field, w0, w1);
            if (field == SmmuCommandFields.Ttl128 && value == 0)
            {
                continue;
            }

            if (!Append(dst, ref pos, " ") || !Append(dst, ref pos, KeyOf(field)) || !Append(dst, ref pos, "="))
            {
                return false;
            }

            bool written = field == SmmuCommandFields.Tg
                ? Append(dst, ref pos, value switch { 1 => "4K", 2 => "16K", 3 => "64K", _ => "0" })
                : IsHex(field)
                    ? AppendHex(dst, ref pos, value, 0)
                    : AppendDecimal(dst, ref pos, value);
            if (!written)
            {
                return false;
            }
        }

        DefinedMask(opcode, out ulong m0, out ulong m1);
        UInt128 res0 = new(w1 & ~m1, w0 & ~m0);
        if (res0 == UInt128.Zero)
        {
            return true;
        }

        if (!Append(dst, ref pos, " res0!=0x")
            || !res0.TryFormat(dst[pos..], out int n, "x", CultureInfo.InvariantCulture))
        {
            return false;
        }

        pos += n;
        return true;
    }

    private static string KeyOf(SmmuCommandFields field) => field switch
    {
        SmmuCommandFields.SSec => "ssec",
        SmmuCommandFields.SSV => "ssv",
        SmmuCommandFields.SubstreamId => "ssid",
        SmmuCommandFields.StreamId => "sid",
        SmmuCommandFields.Vmid => "vmid",
        SmmuCommandFields.Asid => "asid",
        SmmuCommandFields.Global => "global",
        SmmuCommandFields.Ac => "ac",
        SmmuCommandFields.Ab => "ab",
        SmmuCommandFields.Cs => "cs",
        SmmuCommandFields.Msh => "msh",
        SmmuCommandFields.MsiAttr => "msiattr",
        SmmuCommandFields.MsiData => "msidata",
        SmmuCommandFields.MsiAddress => "msiaddr",
        SmmuCommandFields.Address => "addr",
        SmmuCommandFields.Ipa => "ipa",
        SmmuCommandFields.Pa => "pa",
        SmmuCommandFields.AtcSize or SmmuCommandFields.PrefetchSize => "size",
        SmmuCommandFields.Tg => "tg",
        SmmuCommandFields.Ttl => "ttl",
        SmmuCommandFields.Ttl128 => "ttl128",
        SmmuCommandFields.Num => "num",
        SmmuCommandFields.Scale => "scale",
        SmmuCommandFields.Leaf => "leaf",
        SmmuCommandFields.Range => "range",
        SmmuCommandFields.PrgIndex => "prgindex",
        SmmuCommandFields.Resp => "resp",
        SmmuCommandFields.Stag => "stag",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, "Not a single command field."),
    };

    private static bool IsHex(SmmuCommandFields field) => field is SmmuCommandFields.SubstreamId
        or SmmuCommandFields.StreamId or SmmuCommandFields.Vmid or SmmuCommandFields.Asid
        or SmmuCommandFields.MsiAttr or SmmuCommandFields.MsiData or SmmuCommandFields.MsiAddress
        or SmmuCommandFields.Address or SmmuCommandFields.Ipa or SmmuCommandFields.Pa
        or SmmuCommandFields.PrgIndex or SmmuCommandFields.Stag;

    private static bool TryParseFields(
        ReadOnlySpan<char> head, ReadOnlySpan<char> text, int pos, out SmmuCommand command, out string error)
    {
        command = default;
        if (!TryParseOpcodeName(head, out SmmuOpcode opcode, out bool cfgiAll))
        {
            error = $"Unknown opcode '{head}'.";
            return false;
        }

        TryGetFields(opcode, out SmmuCommandFields fields);
        ulong w0 = (byte)opcode;
        ulong w1 = cfgiAll ? SmmuCommandBuilder.CfgiAllRange : 0UL;
        SmmuCommandFields seen = SmmuCommandFields.None;
        bool seenRes0 = false;

        for (ReadOnlySpan<char> token = NextToken(text, ref pos); !token.IsEmpty; token = NextToken(text, ref pos))
        {
            if (!SplitPair(token, out ReadOnlySpan<char> key, out ReadOnlySpan<char> value, out error))
            {
                return false;
            }

            if (key.Equals(Res0Key, StringComparison.OrdinalIgnoreCase))
            {
                if (seenRes0 || !TryParseRes0(opcode, value, ref w0, ref w1, out error))
                {
                    error = seenRes0 ? "res0 is given twice." : error;
                    return false;
                }

                seenRes0 = true;
                continue;
            }

            SmmuCommandFields field = FindField(fields, key);
            if (field == SmmuCommandFields.None)
            {
                error = $"'{key}' is not a field of {GetName(opcode)}.";
                return false;
            }

            if ((seen & field) != 0)
            {
                error = $"'{key}' is given twice.";
                return false;
            }

            seen |= field;
            if (cfgiAll && field == SmmuCommandFields.Range)
            {
                w1 &= ~W1_RANGE;
            }

            if (!TryEncodeField(field, key, value, ref w0, ref w1, out error))
            {
                return false;
            }
        }

        command = new SmmuCommand(w0, w1);
        error = string.Empty;
        return true;
    }

    private static bool TryParseOpcodeName(ReadOnlySpan<char> name, out SmmuOpcode opcode, out bool cfgiAll)
    {
        cfgiAll = false;
        if (name.Equals("CFGI_ALL", StringComparison.OrdinalIgnoreCase)
            || name.Equals("CMD_CFGI_ALL", StringComparison.OrdinalIgnoreCase))
        {
            opcode = SmmuOpcode.CFGI_STE_RANGE;
            cfgiAll = true;
            return true;
        }

        for (int op = 0; op < 256; op++)
        {
            string? known = GetName((SmmuOpcode)op);
            if (known is not null
                && (name.Equals(known, StringComparison.OrdinalIgnoreCase)
                    || (name.StartsWith("CMD_", StringComparison.OrdinalIgnoreCase)
                        && name[4..].Equals(known, StringComparison.OrdinalIgnoreCase))))
            {
                opcode = (SmmuOpcode)op;
                return true;
            }
        }

        opcode = default;
        return false;
    }

    private static SmmuCommandFields FindField(SmmuCommandFields fields, ReadOnlySpan<char> key)
    {
        uint rest = (uint)fields;
        while (rest != 0)
        {
            var field = (SmmuCommandFields)(rest & (0u - rest));
            rest &= rest - 1;
            if (key.Equals(KeyOf(field), StringComparison.OrdinalIgnoreCase))
            {
                return field;
            }
        }

        return SmmuCommandFields.None;
    }

    private static bool TryEncodeField(
        SmmuCommandFields field, ReadOnlySpan<char> key, ReadOnlySpan<char> text, ref ulong w0, ref ulong w1,
        out string error)
    {
        ulong value;
        if (field == SmmuCommandFields.Tg)
        {
            int tg = text.Equals("0", StringComparison.Ordinal) ? 0
                : text.Equals("4K", StringComparison.OrdinalIgnoreCase) ? 1
                : text.Equals("16K", StringComparison.OrdinalIgnoreCase) ? 2
                : text.Equals("64K", StringComparison.OrdinalIgnoreCase) ? 3
                : -1;
            if (tg < 0)
            {
                error = $"tg must be 0, 4K, 16K or 64K, not '{text}'.";
                return false;
            }

            value = (ulong)tg;
        }
        else if (!TryParseNumber(text, out value))
        {
            error = $"The value of '{key}' is not a number: '{text}'.";
            return false;
        }

        FieldMask(field, out ulong m0, out ulong m1);
        ulong mask = m0 | m1;
        ulong bits;
        if (IsInPlaceAddress(field))
        {
            if ((value & ~mask) != 0)
            {
                error = $"{key}=0x{value:x} has bits outside [{63 - BitOperations.LeadingZeroCount(mask)}:"
                    + $"{BitOperations.TrailingZeroCount(mask)}] set.";
                return false;
            }

            bits = value;
        }
        else
        {
            int shift = BitOperations.TrailingZeroCount(mask);
            ulong max = mask >> shift;
            if (value > max)
            {
                error = $"{key}={value} does not fit its {BitOperations.PopCount(max)}-bit field (max {max}).";
                return false;
            }

            bits = value << shift;
        }

        if (m0 != 0)
        {
            w0 |= bits;
        }
        else
        {
            w1 |= bits;
        }

        error = string.Empty;
        return true;
    }

    private static bool TryParseRes0(SmmuOpcode opcode, ReadOnlySpan<char> text, ref ulong w0, ref ulong w1,
        out string error)
    {
        if (!text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            || !UInt128.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture,
                out UInt128 res0))
        {
            error = $"res0 must be a hex number, not '{text}'.";
            return false;
        }

        ulong r0 = (ulong)res0;
        ulong r1 = (ulong)(res0 >> 64);
        DefinedMask(opcode, out ulong m0, out ulong m1);
        if ((r0 & m0) != 0 || (r1 & m1) != 0)
        {
            error = $"res0=0x{res0:x} overlaps fields that {GetName(opcode)} defines.";
            return false;
        }

        w0 |= r0;
        w1 |= r1;
        error = string.Empty;
        return true;
    }

    private static bool TryParseRawOpcode(ReadOnlySpan<char> head, bool impdef, out byte opcode, out string error)
    {
        string prefix = impdef ? ImpdefPrefix : ReservedPrefix;
        opcode = 0;
        if (!head.EndsWith(")", StringComparison.Ordinal)
            || !TryParseNumber(head[prefix.Length..^1], out ulong value)
            || value > 0xFF)
        {
            error = $"'{head}' must name an opcode byte, like {prefix}0x5f).";
            return false;
        }

        opcode = (byte)value;
        if (IsDefined((SmmuOpcode)opcode))
        {
            error = $"0x{opcode:x2} is {GetName((SmmuOpcode)opcode)}, not a raw opcode.";
            return false;
        }

        if (IsImplementationDefined(opcode) != impdef)
        {
            error = impdef
                ? $"0x{opcode:x2} is not IMPLEMENTATION DEFINED (0x80-0x8f)."
                : $"0x{opcode:x2} is IMPLEMENTATION DEFINED: write IMPDEF(0x{opcode:x2}).";
            return false;
        }

        error = string.Empty;
        return true;
    }

    private static bool TryParseRaw(ReadOnlySpan<char> text, int pos, byte opcode, out SmmuCommand command,
        out string error)
    {
        command = default;
        ulong? w0 = null;
        ulong? w1 = null;
        for (ReadOnlySpan<char> token = NextToken(text, ref pos); !token.IsEmpty; token = NextToken(text, ref pos))
        {
            if (!SplitPair(token, out ReadOnlySpan<char> key, out ReadOnlySpan<char> value, out error))
            {
                return false;
            }

            bool isW0 = key.Equals("w0", StringComparison.OrdinalIgnoreCase);
            if (!isW0 && !key.Equals("w1", StringComparison.OrdinalIgnoreCase))
            {
                error = $"A raw opcode takes only w0= and w1=, not '{key}'.";
                return false;
            }

            if ((isW0 ? w0 : w1) is not null)
            {
                error = $"'{key}' is given twice.";
                return false;
            }

            if (!TryParseNumber(value, out ulong word))
            {
                error = $"The value of '{key}' is not a number: '{value}'.";
                return false;
            }

            if (isW0)
            {
                w0 = word;
            }
            else
            {
                w1 = word;
            }
        }

        ulong word0 = w0 ?? opcode;
        if ((byte)word0 != opcode)
        {
            error = $"w0 holds opcode 0x{(byte)word0:x2}, not 0x{opcode:x2}.";
            return false;
        }

        command = new SmmuCommand(word0, w1 ?? 0);
        error = string.Empty;
        return true;
    }

    private static bool SplitPair(
        ReadOnlySpan<char> token, out ReadOnlySpan<char> key, out ReadOnlySpan<char> value, out string error)
    {
        int eq = token.IndexOf('=');
        if (eq <= 0)
        {
            key = value = default;
            error = $"Expected key=value, not '{token}'.";
            return false;
        }

        key = token[..eq];
        value = token[(eq + 1)..];
        error = string.Empty;
        return true;
    }

    private static bool TryParseNumber(ReadOnlySpan<char> text, out ulong value)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static ReadOnlySpan<char> NextToken(ReadOnlySpan<char> text, ref int pos)
    {
        while (pos < text.Length && char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }

        int start = pos;
        while (pos < text.Length && !char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }

        return text[start..pos];
    }

    private static bool Append(Span<char> dst, ref int pos, ReadOnlySpan<char> text)
    {
        if (!text.TryCopyTo(dst[pos..]))
        {
            return false;
        }

        pos += text.Length;
        return true;
    }

    private static bool AppendHex(Span<char> dst, ref int pos, ulong value, int digits)
    {
        if (!Append(dst, ref pos, "0x")
            || !value.TryFormat(dst[pos..], out int n, digits switch { 2 => "x2", 16 => "x16", _ => "x" },
                CultureInfo.InvariantCulture))
        {
            return false;
        }

        pos += n;
        return true;
    }

    private static bool AppendDecimal(Span<char> dst, ref int pos, ulong value)
    {
        if (!value.TryFormat(dst[pos..], out int n, default, CultureInfo.InvariantCulture))
        {
            return false;
        }

        pos += n;
        return true;
    }
}
