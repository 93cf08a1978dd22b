using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// VFIO compatibility (drivers/iommu/iommufd/vfio_compat.c): IOMMU_VFIO_IOAS, which names the compat IOAS, and the
/// type1 container ioctls the iommufd fd answers over it — VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION,
/// VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA — with vfio.h's numbers and
/// layouts. main.c iommufd_fops_ioctl() hands every number outside the iommufd table here; one that is none of
/// these is ENOTTY.
/// </summary>
/// <remarks>
/// As a kernel without CONFIG_VFIO_NOIOMMU: VFIO_NOIOMMU_IOMMU is not an extension and not a type. No domain here
/// enforces cache coherency, so VFIO_DMA_CC_IOMMU is 1 only while the compat IOAS has no domain.
/// </remarks>
internal static class VfioCompatCommands
{
    private const ulong CpuPageMask = ~((ulong)PhysicalMemory.PageSize - 1);

    internal static Errno RawVfioIoas(this IommufdFile file, ref IommuVfioIoas cmd, ref bool respond)
    {
        if (cmd.Reserved != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"__reserved 0x{cmd.Reserved:x} is not 0");
        }

        switch ((IommuVfioIoasOp)cmd.Op)
        {
            case IommuVfioIoasOp.Get:
                var rc = file.GetCompatIoas(out var compat);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                cmd.IoasId = compat.Object.Id;
                compat.Dispose();
                respond = true;
                return Errno.Success;
            case IommuVfioIoasOp.Set:
                rc = file.Objects.Get<IoasObject>(cmd.IoasId, out var ioas);
                if (rc != Errno.Success)
                {
                    return rc;
                }

                Volatile.Write(ref file.VfioCompatIoas, ioas.Object);
                ioas.Dispose();
                return Errno.Success;
            case IommuVfioIoasOp.Clear:
                Volatile.Write(ref file.VfioCompatIoas, null);
                return Errno.Success;
            default:
                return Errno.EOPNOTSUPP;
        }
    }

    /// <summary>
    /// vfio_compat.c iommufd_vfio_ioctl(): <paramref name="argument"/> is a user pointer for GET_INFO, MAP_DMA and
    /// UNMAP_DMA and a value for CHECK_EXTENSION and SET_IOMMU; <paramref name="result"/> is what a successful
    /// ioctl(2) returns (the API version, an extension's 0 or 1, else 0).
    /// </summary>
    internal static Errno VfioContainerIoctl(this IommufdFile file, uint request, ulong argument, out int result)
    {
        result = 0;
        switch (request)
        {
            case VfioIoctl.VFIO_GET_API_VERSION:
                result = VfioIoctl.VFIO_API_VERSION;
                return Errno.Success;
            case VfioIoctl.VFIO_SET_IOMMU:
                return file.SetIommu(argument);
            case VfioIoctl.VFIO_CHECK_EXTENSION:
                return file.CheckExtension(argument, out result);
            case VfioIoctl.VFIO_IOMMU_GET_INFO:
                return file.GetInfo(argument);
            case VfioIoctl.VFIO_IOMMU_MAP_DMA:
                return file.MapDma(argument);
            case VfioIoctl.VFIO_IOMMU_UNMAP_DMA:
                return file.UnmapDma(argument);
            default:
                return Errno.ENOTTY; // VFIO_IOMMU_DIRTY_PAGES too: ENOIOCTLCMD
        }
    }

    /// <summary>vfio_compat.c get_compat_ioas(): ENODEV with no compat IOAS, or one that is being destroyed.</summary>
    private static Errno GetCompatIoas(this IommufdFile file, out ObjectRef<IoasObject> ioas)
    {
        ioas = default;
        var current = Volatile.Read(ref file.VfioCompatIoas);
        if (current is null || file.Objects.Get(current.Id, out ioas) != Errno.Success)
        {
            return Refusal.Because(Errno.ENODEV, $"there is no compat IOAS (IOMMU_VFIO_IOAS SET names it)");
        }

        if (!ReferenceEquals(ioas.Object, current))
        {
            ioas.Dispose(); // the compat IOAS was destroyed and its ID handed out again
            ioas = default;
            return Refusal.Because(Errno.ENODEV, $"the compat IOAS was destroyed");
        }

        return Errno.Success;
    }

    /// <summary>
    /// vfio_compat.c iommufd_vfio_check_extension(): TYPE1, TYPE1v2 and UNMAP_ALL are 1; DMA_CC_IOMMU looks at the
    /// compat IOAS (iommufd_vfio_cc_iommu(), ENODEV without one); the rest are 0.
    /// </summary>
    private static Errno CheckExtension(this IommufdFile file, ulong extension, out int supported)
    {
        supported = 0;
        switch (extension)
        {
            case VfioIoctl.VFIO_TYPE1_IOMMU:
            case VfioIoctl.VFIO_TYPE1v2_IOMMU:
            case VfioIoctl.VFIO_UNMAP_ALL:
                supported = 1;
                return Errno.Success;
            case VfioIoctl.VFIO_DMA_CC_IOMMU:
                var rc = file.GetCompatIoas(out var ioas);
                if (rc == Errno.Success)
                {
                    supported = ioas.Object.DomainCount == 0 ? 1 : 0; // no domain here enforces cache coherency
                    ioas.Dispose();
                }

                return rc;
            default:
                return Errno.Success; // NESTING (reserved), UPDATE_VADDR, NOIOMMU without CONFIG_VFIO_NOIOMMU, unknown
        }
    }

    /// <summary>
    /// vfio_compat.c iommufd_vfio_set_iommu(): only TYPE1 and TYPE1v2 (EINVAL), then the compat IOAS (ENODEV: VFIO
    /// has no group); TYPE1 turns the IOAS's huge pages off so that any range can be unmapped
    /// (io_pagetable.c iopt_disable_large_pages(): EINVAL once a domain holds mappings).
    /// </summary>
    private static Errno SetIommu(this IommufdFile file, ulong type)
    {
        if (type != VfioIoctl.VFIO_TYPE1_IOMMU && type != VfioIoctl.VFIO_TYPE1v2_IOMMU)
        {
            return Refusal.Because(Errno.EINVAL, $"type {type} is neither VFIO_TYPE1_IOMMU nor VFIO_TYPE1v2_IOMMU");
        }

        var rc = file.GetCompatIoas(out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            return type == VfioIoctl.VFIO_TYPE1_IOMMU ? ioas.Object.SetHugePages(false) : Errno.Success;
        }
    }

    /// <summary>
    /// vfio_compat.c iommufd_vfio_map_dma(): the struct up to <c>size</c> (EFAULT), argsz and flags (EINVAL), the
    /// compat IOAS (ENODEV), then a map at the fixed IOVA as iopt_map_user_pages() makes it — without the IOAS_MAP
    /// rule that one of READ or WRITE be set.
    /// </summary>
    private static Errno MapDma(this IommufdFile file, ulong argument)
    {
        int minSize = Unsafe.SizeOf<VfioIommuType1DmaMap>();
        if (!TryRead(file.Memory, argument, minSize, out VfioIommuType1DmaMap map))
        {
            return Errno.EFAULT;
        }

        const uint Known = VfioIoctl.VFIO_DMA_MAP_FLAG_READ | VfioIoctl.VFIO_DMA_MAP_FLAG_WRITE;
        if (map.Argsz < minSize || (map.Flags & ~Known) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"argsz {map.Argsz} is below {minSize} or flags 0x{map.Flags:x} has bits other than READ and WRITE");
        }

        var protection = ((map.Flags & VfioIoctl.VFIO_DMA_MAP_FLAG_READ) != 0 ? IommuProtection.Read : 0)
            | ((map.Flags & VfioIoctl.VFIO_DMA_MAP_FLAG_WRITE) != 0 ? IommuProtection.Write : 0);
        var rc = file.GetCompatIoas(out var ioas);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioas)
        {
            ulong iova = map.Iova;
            return ioas.Object.Map(map.Vaddr, map.Size, protection, fixedIova: true, ref iova);
        }
    }

    /// <summary>
    /// vfio_compat.c iommufd_vfio_unmap_dma(): the struct up to <c>size</c> (EFAULT), argsz and flags (EINVAL: only
    /// UNMAP_ALL, so GET_DIRTY_BITMAP and VADDR are refused), the compat IOAS (ENODEV). UNMAP_ALL needs iova and size
    /// 0 (EINVAL) and succeeds on an empty IOAS; otherwise, with huge pages off (TYPE1), the mappings are first cut at
    /// the range's ends, then io_pagetable.c iopt_unmap_iova() (size 0 EINVAL, a wrapping end EOVERFLOW, a range that
    /// cuts a mapping or holds none ENOENT). The bytes unmapped go back in <c>size</c> on success and on an unmap
    /// error, not when a check before the unmap refused.
    /// </summary>
    private static Errno UnmapDma(this IommufdFile file, ulong argument)
    {
        int minSize = Unsafe.SizeOf<VfioIommuType1DmaUnmap>();
        if (!TryRead(file.Memory, argument, minSize, out VfioIommuType1DmaUnmap unmap))
        {
            return Errno.EFAULT;
        }

        if (unmap.Argsz < minSize || (unmap.Flags & ~VfioIoctl.VFIO_DMA_UNMAP_FLAG_ALL) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"argsz {unmap.Argsz} is below {minSize} or flags 0x{unmap.Flags:x} has bits other than UNMAP_ALL");
        }

        var rc = file.GetCompatIoas(out var ioasRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioasRef)
        {
            var ioas = ioasRef.Object;
            ulong unmapped;
            if ((unmap.Flags & VfioIoctl.VFIO_DMA_UNMAP_FLAG_ALL) != 0)
            {
                if (unmap.Iova != 0 || unmap.Size != 0)
                {
                    return Refusal.Because(Errno.EINVAL, $"UNMAP_ALL with iova 0x{unmap.Iova:x} and size 0x{unmap.Size:x}, not 0 and 0");
                }

                rc = ioas.Unmap(0, ulong.MaxValue, out unmapped); // io_pagetable.c iopt_unmap_all(): nothing to unmap is fine
            }
            else
            {
                if (!ioas.HugePages)
                {
                    // Cut at the range's last byte and before its first; a range from 0 needs no second cut.
                    ReadOnlySpan<ulong> ends = [unmap.Iova + unmap.Size - 1, unmap.Iova - 1];
                    rc = ioas.Cut(unmap.Iova != 0 ? ends : ends[..1]);
                    if (rc != Errno.Success)
                    {
                        return rc;
                    }
                }

                rc = UnmapIova(ioas, unmap.Iova, unmap.Size, out unmapped);
            }

            unmap.Size = unmapped;
            return CopyOut(file.Memory, argument, unmap) ? rc : Errno.EFAULT;
        }
    }

    /// <summary>io_pagetable.c iopt_unmap_iova(): size 0 is EINVAL, an end past U64_MAX EOVERFLOW, nothing there ENOENT.</summary>
    private static Errno UnmapIova(IoasObject ioas, ulong iova, ulong length, out ulong unmapped)
    {
        unmapped = 0;
        if (length == 0)
        {
            return Refusal.Because(Errno.EINVAL, $"size 0");
        }

        if (iova + (length - 1) < iova)
        {
            return Refusal.Because(Errno.EOVERFLOW, $"iova 0x{iova:x} + size 0x{length:x} wraps");
        }

        var rc = ioas.Unmap(iova, iova + (length - 1), out unmapped);
        return rc == Errno.Success && unmapped == 0
            ? Refusal.Because(Errno.ENOENT, $"nothing is mapped in [0x{iova:x}, + 0x{length:x})")
            : rc;
    }

    /// <summary>
    /// vfio_compat.c iommufd_vfio_iommu_get_info(): the struct up to <c>iova_pgsizes</c> (EFAULT), argsz (EINVAL),
    /// the compat IOAS (ENODEV); then the capability chain after the 24-byte struct — DMA_AVAIL, then IOVA_RANGE —
    /// each written only when it fits in argsz, each 8-byte aligned, each linked from the one before when that link
    /// lies inside argsz. argsz comes back as the size of the whole chain and <c>cap_offset</c> is set only when the
    /// whole chain fit; only min(argsz, 24) bytes of the struct are written back.
    /// </summary>
    private static Errno GetInfo(this IommufdFile file, ulong argument)
    {
        int minSize = (int)Marshal.OffsetOf<VfioIommuType1Info>(nameof(VfioIommuType1Info.CapOffset));
        if (!TryRead(file.Memory, argument, minSize, out VfioIommuType1Info info))
        {
            return Errno.EFAULT;
        }

        if (info.Argsz < minSize)
        {
            return Refusal.Because(Errno.EINVAL, $"argsz {info.Argsz} is below the {minSize} bytes before cap_offset");
        }

        int writeBack = (int)Math.Min(info.Argsz, (uint)Unsafe.SizeOf<VfioIommuType1Info>());
        var rc = file.GetCompatIoas(out var ioasRef);
        if (rc != Errno.Success)
        {
            return rc;
        }

        using (ioasRef)
        {
            var ioas = ioasRef.Object;
            info = new VfioIommuType1Info { Argsz = info.Argsz, Flags = VfioIoctl.VFIO_IOMMU_INFO_PGSIZES, IovaPgsizes = PageSizes(ioas) };
            var ranges = ioas.GetUsableRanges();
            ulong total = (ulong)Unsafe.SizeOf<VfioIommuType1Info>();
            ulong lastCap = 0;
            for (int cap = 0; cap < 2; cap++)
            {
                ulong avail = info.Argsz > total ? info.Argsz - total : 0;
                if (!(cap == 0 ? FillDmaAvail(file.Memory, argument + total, avail, out ulong size) : FillIovaRanges(file.Memory, argument + total, avail, ranges, out size)))
                {
                    return Errno.EFAULT;
                }

                if (lastCap != 0 && info.Argsz >= total && !CopyOut(file.Memory, lastCap + 4, (uint)total))
                {
                    return Errno.EFAULT; // put_user of the previous capability's next
                }

                lastCap = argument + total;
                total += (size + 7) & ~7UL;
            }

            info.CapOffset = info.Argsz >= total ? (uint)Unsafe.SizeOf<VfioIommuType1Info>() : 0;
            info.Argsz = (uint)total;
            info.Flags |= VfioIoctl.VFIO_IOMMU_INFO_CAPS;
            return CopyOut(file.Memory, argument, MemoryMarshal.AsBytes(new ReadOnlySpan<VfioIommuType1Info>(in info))[..writeBack])
                ? Errno.Success
                : Errno.EFAULT;
        }
    }

    /// <summary>
    /// vfio_compat.c iommufd_get_pagesizes(): the sizes every domain supports, with sizes below a CPU page folded
    /// into the CPU page, and at least the IOAS's alignment.
    /// </summary>
    private static ulong PageSizes(IoasObject ioas)
    {
        ulong sizes = ioas.DomainPageSizes;
        if ((sizes & ~CpuPageMask) != 0)
        {
            sizes = (sizes & CpuPageMask) | PhysicalMemory.PageSize;
        }

        return Math.Max(sizes, ioas.IovaAlignment);
    }

    /// <summary>vfio_compat.c iommufd_fill_cap_dma_avail(): 12 bytes, written when they fit; U32_MAX mappings.</summary>
    private static bool FillDmaAvail(UserMemory memory, ulong address, ulong avail, out ulong size)
    {
        var cap = new VfioIommuType1InfoDmaAvail
        {
            Header = new VfioInfoCapHeader { Id = VfioIoctl.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, Version = 1 },
            Avail = uint.MaxValue, // iommufd's limit is the memory cgroup's, so the count VFIO reports is not one
        };
        size = (ulong)Unsafe.SizeOf<VfioIommuType1InfoDmaAvail>();
        return avail < size || CopyOut(memory, address, cap);
    }

    /// <summary>
    /// vfio_compat.c iommufd_fill_cap_iova(): the holes between reserved ranges (what IOMMU_IOAS_IOVA_RANGES
    /// reports), each entry written when it fits, then the fixed part when all the entries fit.
    /// </summary>
    private static bool FillIovaRanges(UserMemory memory, ulong address, ulong avail, List<IommuIovaRange> ranges, out ulong size)
    {
        ulong head = (ulong)Unsafe.SizeOf<VfioIommuType1InfoCapIovaRange>();
        ulong entry = (ulong)Unsafe.SizeOf<VfioIovaRange>();
        for (int i = 0; i < ranges.Count; i++)
        {
            var range = new VfioIovaRange { Start = ranges[i].Start, End = ranges[i].Last };
            if (avail >= head + (entry * (ulong)(i + 1)) && !CopyOut(memory, address + head + (entry * (ulong)i), range))
            {
                size = 0;
                return false;
            }
        }

        size = head + (entry * (ulong)ranges.Count);
        var cap = new VfioIommuType1InfoCapIovaRange
        {
            Header = new VfioInfoCapHeader { Id = VfioIoctl.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, Version = 1 },
            NrIovas = (uint)ranges.Count,
        };
        return avail < size || CopyOut(memory, address, cap);
    }

    /// <summary>copy_from_user of the first <paramref name="length"/> bytes of a struct; the rest stays 0.</summary>
    private static bool TryRead<T>(UserMemory memory, ulong address, int length, out T value)
        where T : unmanaged
    {
        value = default;
        var bytes = memory.GetAccessiblePrefix(address, (ulong)length);
        if (bytes.Length < length)
        {
            return false;
        }

        bytes.CopyTo(MemoryMarshal.AsBytes(new Span<T>(ref value)));
        return true;
    }

    private static bool CopyOut<T>(UserMemory memory, ulong address, in T value)
        where T : unmanaged => CopyOut(memory, address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>copy_to_user: false (EFAULT) when any byte is outside the caller's memory.</summary>
    private static bool CopyOut(UserMemory memory, ulong address, ReadOnlySpan<byte> bytes)
    {
        var target = memory.GetAccessiblePrefix(address, (ulong)bytes.Length);
        if (target.Length < bytes.Length)
        {
            return false;
        }

        bytes.CopyTo(target);
        return memory.CopyBack(address, target);
    }
}
