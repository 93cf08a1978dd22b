namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// A VMSAv8-64 table walker for one stage (4K, 16K and 64K granules; 48-bit output), which checks table and
/// output addresses against <c>outputBits</c> (the effective IPS or S2PS). It reads descriptors through
/// an <see cref="ITableMemory"/> struct (so no allocation per walk) and reports the leaf's permissions; the
/// caller checks them against the access.
/// </summary>
/// <remarks>Not modelled: concatenated stage-2 start tables, 52-bit addresses (LPA/LPA2), contiguous hints,
/// hardware access-flag and dirty updates (HTTU), and walk caches.</remarks>
internal static class PageTableWalker
{
    public static WalkResult Walk<TMemory>(ref TMemory memory, in TableFormat format, ulong tableBase, ulong input, bool stage2, int outputBits)
        where TMemory : struct, ITableMemory
    {
        if (format.InputBits < 64 && (input >> format.InputBits) != 0)
        {
            return WalkResult.Failed(TranslationFault.Translation, format.StartLevel);
        }

        ulong table = Descriptor.Address(tableBase, format.PageShift);
        for (int level = format.StartLevel; level <= 3; level++)
        {
            ulong address = table + (format.Index(input, level) * 8);
            var read = memory.TryRead(address, out ulong descriptor);
            if (read != TranslationFault.None)
            {
                return WalkResult.Failed(read, level, address);
            }

            if ((descriptor & Descriptor.Valid) == 0)
            {
                return WalkResult.Failed(TranslationFault.Translation, level);
            }

            bool tableOrPage = (descriptor & Descriptor.TableOrPage) != 0;
            if (level < 3 && tableOrPage)
            {
                // Next-level table addresses are checked against the output size too (spec §5.4 IPS, §5.2 S2PS).
                table = Descriptor.Address(descriptor, format.PageShift);
                if (outputBits < 64 && (table >> outputBits) != 0)
                {
                    return WalkResult.Failed(TranslationFault.AddressSize, level);
                }

                continue;
            }

            if ((level == 3 && !tableOrPage) || (level < 3 && !format.BlocksAllowed(level)))
            {
                return WalkResult.Failed(TranslationFault.Translation, level); // reserved encodings
            }

            int shift = format.BlockShift(level);
            ulong output = Descriptor.Address(descriptor, shift);
            if (outputBits < 64 && (output >> outputBits) != 0)
            {
                return WalkResult.Failed(TranslationFault.AddressSize, level);
            }

            if ((descriptor & Descriptor.AccessFlag) == 0)
            {
                return WalkResult.Failed(TranslationFault.AccessFlag, level);
            }

            bool readable = !stage2 || (descriptor & Descriptor.S2ApRead) != 0;
            bool writable = stage2 ? (descriptor & Descriptor.S2ApWrite) != 0 : (descriptor & Descriptor.S1ApReadOnly) == 0;
            bool global = stage2 || (descriptor & Descriptor.NotGlobal) == 0;
            return new WalkResult(TranslationFault.None, level, output, shift, readable, writable, global);
        }

        return WalkResult.Failed(TranslationFault.Translation, 3);
    }
}
