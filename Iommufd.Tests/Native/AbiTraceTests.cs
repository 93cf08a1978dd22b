using System.Globalization;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Interop;
using Iommufd.Core.Memory;
using Iommufd.Tests.Support;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Native;

/// <summary>
/// Native ioctls against the C# raw entry point: samples/native/vmm/iommufd-abi-trace.c issues a fixed run of
/// /dev/iommu and vfio0 ioctls under the shim and prints each one's bytes in, result and bytes out; the same bytes
/// go through <see cref="IommufdFile.Ioctl(uint, Span{byte})"/> and <see cref="VfioDeviceFile.Ioctl"/> on the same
/// platform, and must give the same errno and the same bytes back. The replay runs in this process's own memory
/// (<see cref="UserMemory.ForCallingProcess"/>), with the program's pointer window mapped at the same address, so
/// that calls carrying user pointers (user_va, data_uptr, allowed_iovas) compare the memory they read and write too.
/// </summary>
[NonParallelizable]
public unsafe class AbiTraceTests
{
    private const string Program = "iommufd-abi-trace";
    private const ulong WindowBase = 0x3f00_0000_0000; // MEM_BASE, MEM_SIZE of the program
    private const ulong WindowSize = 0x2_0000;
    private const int MapFixedNoReplace = 0x10_0000;

    [Test]
    public void Every_traced_native_ioctl_matches_the_raw_entry_point_in_result_and_bytes()
    {
        NativeBuild.Require(Program);
        var (exit, output) = NativeBuild.Run(Program);
        Assert.That(exit, Is.Zero, output);

        using var provider = NativeBuild.DefaultPlatform();
        var host = provider.GetRequiredService<IommufdHost>();
        var process = UserMemory.ForCallingProcess(host.Platform.Memory);
        nint window = Libc.Mmap(unchecked((nint)WindowBase), (nuint)WindowSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_ANONYMOUS | MapFixedNoReplace, -1, 0);
        Assert.That(window, Is.EqualTo(unchecked((nint)WindowBase)), "the pointer window maps at the program's address here too");
        var file = host.Open(process);
        byte* scratchAt = (byte*)NativeMemory.AllocZeroed(4096);
        var scratch = new Span<byte>(scratchAt, 4096);
        var memory = new Span<byte>((void*)window, (int)WindowSize);
        var devices = new Dictionary<string, VfioDeviceFile>();
        var mismatches = new List<string>();
        int calls = 0, pointerCalls = 0;
        OneIommufdFd? fds = null;

        foreach (var line in output.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f is ["FD", "iommu", var number])
            {
                fds = new OneIommufdFd(file, int.Parse(number, CultureInfo.InvariantCulture));
                continue;
            }

            if (f is ["CALLP", "iommu", var preq, var pinput, var off, var len, var windowIn, "->", var prc, var perr, var pexpected, var windowOut])
            {
                pointerCalls++;
                int at = Convert.ToInt32(off, 16), n = int.Parse(len, CultureInfo.InvariantCulture);
                Hex(windowIn).CopyTo(memory[at..]);
                byte[] argument = Convert.FromHexString(pinput);
                var rcp = file.Ioctl(Convert.ToUInt32(preq, 16), argument);
                var wantp = int.Parse(prc, CultureInfo.InvariantCulture) < 0 ? (Errno)int.Parse(perr, CultureInfo.InvariantCulture) : Errno.Success;
                string gotWindow = n == 0 ? "-" : Convert.ToHexString(memory.Slice(at, n)).ToLowerInvariant();
                if (rcp != wantp || !argument.AsSpan().SequenceEqual(Convert.FromHexString(pexpected)) || gotWindow != windowOut)
                {
                    mismatches.Add($"iommu {preq} (with pointers): native {wantp} {pexpected} {windowOut}, C# {rcp} {Convert.ToHexString(argument).ToLowerInvariant()} {gotWindow}");
                }

                continue;
            }

            if (f is not ["CALL", var node, var req, var input, "->", var rc, var err, var expected])
            {
                continue;
            }

            calls++;
            uint request = Convert.ToUInt32(req, 16);
            byte[] bytes = Convert.FromHexString(input);
            Errno got;
            if (node == "iommu")
            {
                got = file.Ioctl(request, bytes);
            }
            else
            {
                if (!devices.TryGetValue(node, out var device))
                {
                    int index = int.Parse(node.AsSpan(4), CultureInfo.InvariantCulture);
                    device = new VfioDeviceFile(host.Platform.Devices.ElementAt(index), process, fds!);
                    devices.Add(node, device);
                }

                bytes.CopyTo(scratch);
                got = device.Ioctl(request, (ulong)scratchAt);

                bytes = scratch[..bytes.Length].ToArray();
            }

            var want = int.Parse(rc, CultureInfo.InvariantCulture) < 0 ? (Errno)int.Parse(err, CultureInfo.InvariantCulture) : Errno.Success;
            byte[] wanted = Convert.FromHexString(expected);
            if (request == IommufdIoctl.IOMMU_VEVENTQ_ALLOC)
            {
                Mask(bytes, wanted, 24, 4); // out_veventq_fd: a real fd natively, a number of the file's own here
            }

            if (got != want || !bytes.AsSpan().SequenceEqual(wanted))
            {
                mismatches.Add($"{node} 0x{request:x}: native {want} {expected}, C# {got} {Convert.ToHexString(bytes).ToLowerInvariant()}");
            }
        }

        foreach (var device in devices.Values)
        {
            device.Dispose();
        }

        file.Dispose(); // the pins of the window's pages go before the window does
        Libc.Munmap(window, (nuint)WindowSize);
        NativeMemory.Free(scratchAt);
        Assert.Multiple(() =>
        {
            Assert.That(calls, Is.GreaterThanOrEqualTo(30), "the trace ran");
            Assert.That(pointerCalls, Is.GreaterThanOrEqualTo(11), "the calls with user pointers ran");
            Assert.That(mismatches, Is.Empty);
        });
    }

    private static byte[] Hex(string text) => text == "-" ? [] : Convert.FromHexString(text);

    private static void Mask(byte[] a, byte[] b, int offset, int length)
    {
        if (a.Length >= offset + length && b.Length >= offset + length)
        {
            a.AsSpan(offset, length).Clear();
            b.AsSpan(offset, length).Clear();
        }
    }
}
