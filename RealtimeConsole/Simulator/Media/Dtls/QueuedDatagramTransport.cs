using System.Collections.Concurrent;
using Org.BouncyCastle.Tls;

namespace RealtimeConsole.Simulator.Media.Dtls;

/// <summary>Feeds BouncyCastle's blocking DTLS engine from the call's UDP demultiplexer and sends through a callback.</summary>
internal sealed class QueuedDatagramTransport(Action<byte[]> send, int mtu = 1200) : DatagramTransport
{
    private readonly BlockingCollection<byte[]> _inbound = new(boundedCapacity: 256);
    private readonly CancellationTokenSource _closed = new();

    public void Deliver(byte[] datagram)
    {
        if (!_closed.IsCancellationRequested)
        {
            _inbound.TryAdd(datagram);
        }
    }

    public int GetReceiveLimit() => 1500;

    public int GetSendLimit() => mtu;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        try
        {
            if (!_inbound.TryTake(out var datagram, waitMillis <= 0 ? Timeout.Infinite : waitMillis, _closed.Token))
            {
                return -1;
            }

            var count = Math.Min(datagram.Length, buffer.Length);
            datagram.AsSpan(0, count).CopyTo(buffer);
            return count;
        }
        catch (OperationCanceledException)
        {
            throw new IOException("The call's transport is closed.");
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        if (!_closed.IsCancellationRequested)
        {
            send(buffer.ToArray());
        }
    }

    public void Close()
    {
        if (!_closed.IsCancellationRequested)
        {
            _closed.Cancel();
        }
    }
}
