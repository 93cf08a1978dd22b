using System.Globalization;
using System.Text;

namespace SmmuCmd;

/// <summary>
/// Makes user-supplied text safe to print in a message: control characters, format characters (such as the
/// bidirectional overrides) and lone surrogates become <c>\xNN</c> or <c>\u{NNNN}</c>, so a hostile or binary input
/// cannot move the cursor, recolour the terminal or reorder what the message says. Quoted tokens are also cut to a
/// readable length.
/// </summary>
internal static class MessageText
{
    /// <summary>The most characters of one user token a message repeats.</summary>
    public const int MaxQuoted = 48;

    /// <summary><paramref name="text"/> with every non-printable character escaped.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int first = IndexOfUnprintable(text);
        if (first < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        builder.Append(text, 0, first);
        AppendEscaped(builder, text.AsSpan(first));
        return builder.ToString();
    }

    /// <summary><paramref name="token"/> in single quotes, escaped, and cut after <see cref="MaxQuoted"/> characters.</summary>
    public static string Quote(ReadOnlySpan<char> token)
    {
        var builder = new StringBuilder(Math.Min(token.Length, MaxQuoted) + 24);
        builder.Append('\'');
        AppendEscaped(builder, token.Length <= MaxQuoted ? token : token[..MaxQuoted]);
        if (token.Length > MaxQuoted)
        {
            builder.Append(CultureInfo.InvariantCulture, $"...' ({token.Length} characters)");
        }
        else
        {
            builder.Append('\'');
        }

        return builder.ToString();
    }

    private static int IndexOfUnprintable(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (IsUnprintable(text, i, out _))
            {
                return i;
            }
        }

        return -1;
    }

    private static void AppendEscaped(StringBuilder builder, ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!IsUnprintable(text, i, out bool pair))
            {
                builder.Append(c);
                if (pair)
                {
                    builder.Append(text[++i]);
                }

                continue;
            }

            if (c < 0x100)
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:x4}}}");
            }
        }
    }

    /// <summary>True when the character at <paramref name="i"/> must be escaped; <paramref name="pair"/> is set for a valid surrogate pair.</summary>
    private static bool IsUnprintable(ReadOnlySpan<char> text, int i, out bool pair)
    {
        char c = text[i];
        pair = false;
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            pair = true;
            return CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[i + 1])) is UnicodeCategory.Format;
        }

        return CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }
}
