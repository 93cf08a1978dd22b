using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// A guest's register window that is a real page, as the native library's mmap gives: native memory written and
/// read with plain stores and loads, which <see cref="PagePoller"/> polls against the mapping. Each access waits
/// until a whole polling round began after it (<see cref="PagePoller.Rounds"/>), so a store has reached the
/// register and a load sees the registers as they were when it was made, as an uncached MMIO access does.
/// </summary>
internal sealed unsafe class PolledPage : IMmioRegion, IDisposable
{
    private readonly MmioMapping _mapping;
    private readonly uint* _words;
    private readonly object _page;

    public PolledPage(MmioMapping mapping)
    {
        _mapping = mapping;
        _words = (uint*)NativeMemory.AlignedAlloc((nuint)mapping.Length, 4096);
        NativeMemory.Clear(_words, (nuint)mapping.Length);
        _page = PagePoller.Add(mapping, _words);
    }

    public ulong Length => _mapping.Length;

    public ulong Read(ulong offset, int size)
    {
        Assert.That(size, Is.EqualTo(4), "the guest's VCMDQ registers are 32 bits wide");
        AwaitRound();
        return Volatile.Read(ref _words[offset / sizeof(uint)]);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        Assert.That(size, Is.EqualTo(4), "the guest's VCMDQ registers are 32 bits wide");
        Volatile.Write(ref _words[offset / sizeof(uint)], (uint)value);
        AwaitRound();
    }

    public void Dispose()
    {
        PagePoller.Remove(_page);
        NativeMemory.AlignedFree(_words);
    }

    private static void AwaitRound()
    {
        long after = PagePoller.Rounds + 2;
        Assert.That(Poll.Until(() => PagePoller.Rounds >= after), Is.True, "the poller runs rounds");
    }
}
