using System.Text;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator.Media.Sctp;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class SctpAssociationTests
{
    /// <summary>Two associations joined by queues the test drains by hand, so it can drop, reorder or duplicate packets.</summary>
    private sealed class Link : IDisposable
    {
        public FakeTimeProvider Time { get; } = new();

        public Queue<byte[]> ToServer { get; } = new();

        public Queue<byte[]> ToClient { get; } = new();

        public SctpAssociation Client { get; }

        public SctpAssociation Server { get; }

        public List<(ushort Stream, uint Ppid, string Text)> ServerReceived { get; } = [];

        public List<(ushort Stream, uint Ppid, string Text)> ClientReceived { get; } = [];

        public Link()
        {
            Client = new SctpAssociation(Time, ToServer.Enqueue);
            Server = new SctpAssociation(Time, ToClient.Enqueue);
            Server.MessageReceived += (s, p, b) => ServerReceived.Add((s, p, Encoding.UTF8.GetString(b)));
            Client.MessageReceived += (s, p, b) => ClientReceived.Add((s, p, Encoding.UTF8.GetString(b)));
        }

        public void Pump()
        {
            for (var rounds = 0; rounds < 100 && (ToServer.Count > 0 || ToClient.Count > 0); rounds++)
            {
                while (ToServer.TryDequeue(out var p))
                {
                    Server.Receive(p);
                }

                while (ToClient.TryDequeue(out var p))
                {
                    Client.Receive(p);
                }
            }
        }

        public void Connect()
        {
            Client.Connect();
            Pump();
            Assert.Equal(SctpState.Established, Client.State);
            Assert.Equal(SctpState.Established, Server.State);
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }

    private static string Big(int length, char seed) => string.Concat(Enumerable.Range(0, length).Select(i => (char)(seed + (i % 20))));

    [Fact]
    public void Handshake_then_messages_both_ways_including_fragmented_ones()
    {
        using var link = new Link();
        link.Connect();
        var big = Big(5000, 'a');

        link.Client.Send(1, 51, Encoding.UTF8.GetBytes(big));
        link.Server.Send(1, 51, Encoding.UTF8.GetBytes(big + "!"));
        link.Pump();

        Assert.Equal([(1, 51u, big)], link.ServerReceived);
        Assert.Equal([(1, 51u, big + "!")], link.ClientReceived);
        Assert.Equal(0, link.Client.OutstandingCount);
        Assert.Equal(0, link.Server.OutstandingCount);
    }

    [Fact]
    public void Lost_data_is_retransmitted_when_T3_expires_and_the_rto_backs_off()
    {
        using var link = new Link();
        link.Connect();

        link.Client.Send(1, 51, "lost once"u8);
        Assert.Single(link.ToServer);
        link.ToServer.Clear();
        link.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(link.ToServer);

        link.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Single(link.ToServer);
        Assert.Equal(TimeSpan.FromSeconds(2), link.Client.CurrentRto);
        link.Pump();

        Assert.Equal("lost once", Assert.Single(link.ServerReceived).Text);
        Assert.Equal(0, link.Client.OutstandingCount);
    }

    [Fact]
    public void Reordered_fragments_are_reassembled_and_the_sack_reports_gaps()
    {
        using var link = new Link();
        link.Connect();
        var big = Big(3000, 'A');
        link.Client.Send(2, 51, Encoding.UTF8.GetBytes(big));
        var packets = link.ToServer.ToArray();
        link.ToServer.Clear();
        Assert.Equal(3, packets.Length);

        link.Server.Receive(packets[2]);
        var sack = SctpSack.Read(SctpPacket.TryParse(link.ToClient.Dequeue())!.Chunks.Single(c => c.Type == SctpChunkType.Sack));
        Assert.Equal([((ushort)3, (ushort)3)], sack.Gaps);
        Assert.Empty(link.ServerReceived);

        link.Server.Receive(packets[0]);
        link.Server.Receive(packets[1]);
        link.Pump();
        Assert.Equal(big, Assert.Single(link.ServerReceived).Text);
    }

    [Fact]
    public void Duplicated_data_is_delivered_once_and_reported_as_duplicate()
    {
        using var link = new Link();
        link.Connect();
        link.Client.Send(1, 51, "twice"u8);
        var packet = link.ToServer.Dequeue();

        link.Server.Receive(packet);
        link.ToClient.Clear();
        link.Server.Receive(packet);

        var sack = SctpSack.Read(SctpPacket.TryParse(link.ToClient.Dequeue())!.Chunks.Single(c => c.Type == SctpChunkType.Sack));
        Assert.Single(sack.Duplicates);
        Assert.Single(link.ServerReceived);
    }

    [Fact]
    public void Three_miss_indications_trigger_fast_retransmit_before_T3()
    {
        using var link = new Link();
        link.Connect();
        for (var i = 0; i < 5; i++)
        {
            link.Client.Send(1, 51, Encoding.UTF8.GetBytes($"m{i}"));
        }

        var packets = link.ToServer.ToArray();
        link.ToServer.Clear();
        Assert.Equal(5, packets.Length);
        foreach (var packet in packets.Skip(1))
        {
            link.Server.Receive(packet);
        }

        link.Pump();

        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], link.ServerReceived.Select(r => r.Text));
        Assert.Equal(0, link.Client.OutstandingCount);
    }

    [Fact]
    public void Forward_tsn_skips_an_abandoned_message()
    {
        using var link = new Link();
        link.Connect();
        link.Client.Send(1, 51, "abandoned"u8);
        link.Client.Send(1, 51, "kept"u8);
        var abandoned = SctpData.Read(SctpPacket.TryParse(link.ToServer.Dequeue())!.Chunks[0]);
        link.Server.Receive(link.ToServer.Dequeue());
        Assert.Empty(link.ServerReceived);

        var forward = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(forward, abandoned.Tsn);
        var tag = SctpPacket.TryParse(link.ToClient.Dequeue())!.VerificationTag;
        var forwardPacket = new SctpPacket { VerificationTag = tag, Chunks = [new SctpChunk(SctpChunkType.ForwardTsn, 0, forward)] };
        link.Server.Receive(forwardPacket.Build());

        Assert.Equal("kept", Assert.Single(link.ServerReceived).Text);
    }

    [Fact]
    public void Stream_reset_is_answered_and_reported()
    {
        using var link = new Link();
        link.Connect();
        var reset = new List<ushort>();
        link.Server.StreamReset += reset.Add;

        link.Client.ResetStream(4);
        link.Pump();

        Assert.Equal([(ushort)4], reset);
    }

    [Fact]
    public void Shutdown_and_abort_close_both_sides()
    {
        using var link = new Link();
        link.Connect();
        var closed = new List<string>();
        link.Server.Closed += closed.Add;
        link.Client.Closed += closed.Add;

        link.Client.Shutdown();
        link.Pump();
        Assert.Equal(SctpState.Closed, link.Client.State);
        Assert.Equal(SctpState.Closed, link.Server.State);
        Assert.Equal(2, closed.Count);

        using var other = new Link();
        other.Connect();
        other.Server.Abort("hangup");
        other.Pump();
        Assert.Equal(SctpState.Closed, other.Client.State);
    }

    [Fact]
    public void Unacknowledged_data_aborts_after_the_retransmission_limit()
    {
        using var link = new Link();
        link.Connect();
        string? reason = null;
        link.Client.Closed += r => reason = r;
        link.Client.Send(1, 51, "into the void"u8);

        for (var i = 0; i <= SctpAssociation.MaxRetransmissions && reason is null; i++)
        {
            link.ToServer.Clear();
            link.Time.Advance(SctpAssociation.MaxRto);
        }

        Assert.Equal("retransmission limit reached", reason);
        Assert.Equal(SctpState.Closed, link.Client.State);
    }

    [Fact]
    public void Lost_shutdown_is_resent_on_the_timer()
    {
        using var link = new Link();
        link.Connect();
        link.Client.Shutdown();
        link.ToServer.Clear();

        link.Time.Advance(SctpAssociation.InitialRto);
        Assert.Single(link.ToServer);
        link.Pump();

        Assert.Equal(SctpState.Closed, link.Client.State);
        Assert.Equal(SctpState.Closed, link.Server.State);
    }

    [Fact]
    public void Packets_with_a_bad_checksum_are_ignored()
    {
        using var link = new Link();
        link.Client.Connect();
        var init = link.ToServer.Dequeue();
        init[^1] ^= 0xFF;
        link.Server.Receive(init);
        Assert.Empty(link.ToClient);
    }
}
