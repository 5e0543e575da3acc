using System.Net.Sockets;
using System.Text;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Surface;

/// <summary>
/// A 27 MB body is never taken in: over a real socket, the refusal comes back before the body is sent (declared length)
/// or long before all of it could be (chunked), so the server cannot have buffered it.
/// </summary>
public sealed class RequestBodyMemoryTests : IAsyncLifetime
{
    private const int Body = 27 * 1024 * 1024;

    private readonly LoopbackConsoleServer _server = new();

    public Task InitializeAsync()
    {
        _ = _server.BaseAddress;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("/simulator/admin/faults")]
    [InlineData("/simulator/admin/limits/calls")]
    [InlineData("/api/realtime/client-secret")]
    [InlineData("/api/telemetry/rate-limits")]
    public async Task A_declared_27_MB_body_is_refused_with_413_before_a_byte_of_it_is_sent(string path)
    {
        var method = path.Contains("limits/", StringComparison.Ordinal) ? "PUT" : "POST";
        using var socket = await ConnectAsync();
        await using var stream = new NetworkStream(socket);

        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {Body}\r\n\r\n"));
        var answer = await ReadAnswerAsync(stream);

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("application/json", answer, StringComparison.Ordinal);
        Assert.Contains("\"message\"", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunked_27_MB_body_is_refused_once_it_passes_the_limit()
    {
        using var socket = await ConnectAsync();
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /simulator/admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));

        var reading = ReadAnswerAsync(stream);
        var chunk = Encoding.ASCII.GetBytes($"4000\r\n{new string(' ', 0x4000)}\r\n");
        long sent = 0;
        try
        {
            while (sent < Body && !reading.IsCompleted)
            {
                await stream.WriteAsync(chunk).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                sent += 0x4000;
            }
        }
        catch (IOException)
        {
            // The server closed the connection on the refused body; the answer is already on its way.
        }

        var answer = await reading;
        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("\"message\"", answer, StringComparison.Ordinal);
        Assert.True(sent < Body, $"All {sent} bytes were taken in before the refusal.");
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", _server.BaseAddress.Port);
        return socket;
    }

    /// <summary>The status line, headers and the start of the body, or whatever came before the server closed.</summary>
    private static async Task<string> ReadAnswerAsync(NetworkStream stream)
    {
        var buffer = new byte[16 * 1024];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!text.ToString().Contains("\"message\"", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return text.ToString();
    }
}
