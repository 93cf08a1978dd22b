using System.Buffers.Binary;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Fuzz;

/// <summary>
/// Random request numbers and random argument bytes through the raw entry point: every call must end in an
/// errno (no exception escapes) and closing the file must leave nothing behind.
/// </summary>
public class RawIoctlFuzzTests
{
    private const int Calls = 100_000;

    private static readonly uint[] StructSizes = [8, 12, 16, 24, 28, 32, 40, 48];

    [TestCase(20261121)]
    [TestCase(42)]
    public void Random_ioctls_only_ever_produce_errno_results_and_leak_nothing(int seed)
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu("mock0").AddDevice("dev0", "mock0", 0x10).AddDevice("dev1", "mock0", 0x11))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var physical = host.Platform.Memory;
        var process = host.CreateProcess();
        var buffers = Enumerable.Range(0, 4).Select(_ => process.Map(4 * PhysicalMemory.PageSize)).ToArray();
        int framesBefore = physical.FrameCount;

        var random = new Random(seed);
        var outcomes = new Dictionary<Errno, int>();
        var file = host.Open(process);
        file.BindDevice(host.Platform.GetDevice("dev0"), out _);
        file.BindDevice(host.Platform.GetDevice("dev1"), out _);
        var arg = new byte[96];
        for (int i = 0; i < Calls; i++)
        {
            uint request = random.Next(10) switch
            {
                0 => (uint)random.Next(),
                1 => 0x3B00u | (uint)random.Next(0x70, 0xB0),
                _ => 0x3B00u | (uint)random.Next(0x80, 0x95),
            };
            FillPlausibly(random, arg, buffers);
            int length = random.Next(8) == 0 ? random.Next(arg.Length) : arg.Length;
            Errno rc;
            try
            {
                rc = file.Ioctl(request, arg.AsSpan(0, length));
            }
            catch (Exception e)
            {
                Assert.Fail($"call {i}: request 0x{request:x} threw {e}");
                return;
            }

            Assert.That(Enum.IsDefined(rc), Is.True, $"call {i}: {(int)rc} is not an errno");
            outcomes[rc] = outcomes.GetValueOrDefault(rc) + 1;

            if (random.Next(64) == 0)
            {
                // Sometimes read or close one of the fds an ioctl may have returned.
                int fd = random.Next(3, 8);
                if (random.Next(2) == 0)
                {
                    file.Read(fd, arg, out _);
                }
                else
                {
                    file.Close(fd);
                }
            }

            if (random.Next(50) == 0)
            {
                uint pt = (uint)random.Next(0, 12);
                file.AttachDevice(1, ref pt);
            }
        }

        file.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(outcomes.GetValueOrDefault(Errno.Success), Is.GreaterThan(100), "the fuzzer must reach the handlers");
            Assert.That(outcomes.Keys, Has.Count.GreaterThan(5), "and many of their error paths");
            Assert.That(file.ObjectCount, Is.Zero, "closing the file destroys every object");
            Assert.That(file.OpenFileCount, Is.Zero);
            Assert.That(physical.FrameCount, Is.EqualTo(framesBefore), "pinned pages are released");
            Assert.That(buffers.Any(b => b.IsPinned), Is.False);
        });
    }

    /// <summary>
    /// Fills a struct-sized buffer so that random calls get past the size rule and name real objects often: the
    /// size field is usually the kernel size, IDs are small, pointers usually point into the process.
    /// </summary>
    private static void FillPlausibly(Random random, byte[] arg, UserRegion[] buffers)
    {
        random.NextBytes(arg);
        for (int at = 0; at < arg.Length; at += 8)
        {
            var word = arg.AsSpan(at, 8);
            switch (random.Next(6))
            {
                case 0:
                case 1:
                    BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)random.Next(0, 9));
                    BinaryPrimitives.WriteUInt32LittleEndian(word[4..], (uint)random.Next(0, 9));
                    break;
                case 2:
                    var b = buffers[random.Next(buffers.Length)];
                    BinaryPrimitives.WriteUInt64LittleEndian(word, b.Address + (ulong)random.Next(0, (int)b.Length) / 8 * 8);
                    break;
                case 3:
                    word.Clear();
                    break;
                default:
                    break; // keep the random bytes
            }
        }

        // The size field: usually a plausible struct size.
        uint size = random.Next(4) == 0 ? (uint)random.Next(0, 96) : StructSizes[random.Next(StructSizes.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(arg, size);
    }
}
