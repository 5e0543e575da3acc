using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// One upstream for every console instance of a test: answers each client-secret mint with a fresh <c>ek_</c> and an
/// upstream-style <c>expires_at</c>, remembers which instance asked, and can hold mints open until the test lets them go.
/// </summary>
public sealed class MintingUpstream
{
    private readonly ConcurrentQueue<string> _mintedFor = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<string>> _arrivals = new();
    private TaskCompletionSource _gate = Opened();
    private int _mints;

    public int Mints => Volatile.Read(ref _mints);

    /// <summary>The instance each mint came from, in arrival order.</summary>
    public IReadOnlyCollection<string> MintedFor => _mintedFor;

    /// <summary>The handler to give the instance named <paramref name="instance"/> as its upstream HttpClient's primary handler.</summary>
    public HttpMessageHandler HandlerFor(string instance) => new InstanceHandler(this, instance);

    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    /// <summary>Completes with the instance whose mint was the <paramref name="n"/>th to arrive.</summary>
    public Task<string> WaitForMintAsync(int n) => Arrival(n).Task.WaitAsync(TimeSpan.FromSeconds(60));

    private async Task<HttpResponseMessage> MintAsync(string instance, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Assert.EndsWith("/realtime/client_secrets", request.RequestUri!.AbsolutePath, StringComparison.Ordinal);
        var n = Interlocked.Increment(ref _mints);
        _mintedFor.Enqueue(instance);
        Arrival(n).TrySetResult(instance);
        await _gate.Task.WaitAsync(cancellationToken);

        var expiresAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600;
        var body = $$$"""{"value":"ek_{{{n}}}_{{{Guid.NewGuid():N}}}","expires_at":{{{expiresAt.ToString(CultureInfo.InvariantCulture)}}},"session":{"type":"realtime"}}""";
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }

    private TaskCompletionSource<string> Arrival(int n) => _arrivals.GetOrAdd(n, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private sealed class InstanceHandler(MintingUpstream upstream, string instance) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            upstream.MintAsync(instance, request, cancellationToken);
    }
}
