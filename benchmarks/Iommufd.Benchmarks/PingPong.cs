using System.Runtime.InteropServices;

namespace Iommufd.Benchmarks;

/// <summary>
/// The floor of any hand-off between two cores: this thread writes a counter into one word, a partner thread that
/// spins on it copies it into a second word, and this thread spins until it sees it there. The two words sit on
/// cache lines of their own, so a round trip is two cache-line transfers between the cores and nothing else.
/// </summary>
internal sealed class PingPong : IDisposable
{
    private const int LooksBeforeYield = 1 << 16; // a thread that waited this long (milliseconds) gives its core up between looks

    private readonly Words _words = new();
    private readonly Thread _partner;
    private readonly bool _pause;
    private long _next;

    /// <param name="pause">Each wait pauses (Thread.SpinWait(1)) between looks; otherwise it looks back to back.</param>
    public PingPong(bool pause)
    {
        _pause = pause;
        _partner = new Thread(Echo) { IsBackground = true, Name = "ping-pong-partner" };
        _partner.Start();
    }

    /// <summary>One round trip: write the next count, wait until the partner has written it back.</summary>
    public void RoundTrip()
    {
        long i = ++_next;
        Volatile.Write(ref _words.Ping, i);
        int looks = 0;
        while (Volatile.Read(ref _words.Pong) != i)
        {
            if (++looks > LooksBeforeYield)
            {
                Thread.Yield(); // the partner is not running: it may be waiting for this core
            }
            else if (_pause)
            {
                Thread.SpinWait(1);
            }
        }
    }

    public void Dispose()
    {
        Volatile.Write(ref _words.Ping, -1);
        _partner.Join();
    }

    private void Echo()
    {
        long seen = 0;
        int looks = 0;
        while (true)
        {
            long ping = Volatile.Read(ref _words.Ping);
            if (ping == seen)
            {
                if (++looks > LooksBeforeYield)
                {
                    Thread.Yield();
                }
                else if (_pause)
                {
                    Thread.SpinWait(1);
                }

                continue;
            }

            if (ping < 0)
            {
                return;
            }

            Volatile.Write(ref _words.Pong, ping);
            seen = ping;
            looks = 0;
        }
    }

    /// <summary>The two words, each alone on its 64-byte line.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private sealed class Words
    {
        [FieldOffset(64)]
        public long Ping;

        [FieldOffset(128)]
        public long Pong;
    }
}
