using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Iommufd.Tests.Abi;

/// <summary>Checks a UAPI struct against the size and offsets typed in from include/uapi/linux/iommufd.h.</summary>
internal static class AbiLayout
{
    /// <summary>
    /// Asserts <c>sizeof</c>, that <paramref name="fields"/> names every field of <typeparamref name="T"/> in
    /// declaration order, and each field's offset.
    /// </summary>
    public static void AssertLayout<T>(int size, params (string Field, int Offset)[] fields)
        where T : struct
    {
        var declared = typeof(T)
            .GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(f => f.Name)
            .ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Unsafe.SizeOf<T>(), Is.EqualTo(size), $"sizeof({typeof(T).Name})");
            Assert.That(declared, Is.EqualTo(fields.Select(f => f.Field).ToArray()), $"fields of {typeof(T).Name}");
            foreach (var (field, offset) in fields)
            {
                Assert.That(Marshal.OffsetOf<T>(field).ToInt32(), Is.EqualTo(offset), $"{typeof(T).Name}.{field}");
            }
        }
    }

    /// <summary>The byte offset of <paramref name="field"/> inside <paramref name="container"/>.</summary>
    public static int ByteOffset<T, TField>(ref T container, ref TField field) =>
        (int)Unsafe.ByteOffset(ref Unsafe.As<T, byte>(ref container), ref Unsafe.As<TField, byte>(ref field));
}
