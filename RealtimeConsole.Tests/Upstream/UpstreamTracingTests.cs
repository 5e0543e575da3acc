using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Upstream;

/// <summary>
/// The gate's spans on the fake clock, collected with the in-memory exporter. Activity sources are process-wide, so each
/// test runs under its own parent span and reads only the spans of that trace.
/// </summary>
public sealed class UpstreamTracingTests : IDisposable
{
    private static readonly ActivitySource TestSource = new("RealtimeConsole.Tests.UpstreamTracing");
    private readonly RecordedSpans _spans = new();
    private readonly TracerProvider _tracing;

    public UpstreamTracingTests() => _tracing = Sdk.CreateTracerProviderBuilder()
        .AddSource(TestSource.Name, UpstreamTracing.ActivitySourceName)
        .AddInMemoryExporter(_spans)
        .Build();

    private static Func<HttpRequestMessage> Mint => () => new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/v1/realtime/client_secrets");

    [Fact]
    public async Task A_429_and_its_retry_are_two_attempt_spans_under_one_request_span()
    {
        using var harness = new BrokerHarness((_, n) => n == 1
            ? FakeUpstreamHandler.RateLimited(retryAfterMs: "1500", requestId: "req_first")
            : SecretWithRequestId("req_second"));
        var trace = StartTrace();

        var send = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromMilliseconds(1500));
        harness.Time.Fake.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.True((await send.WaitAsync(ConditionWaiter.Patience)).IsSuccess);
        trace.Stop();

        var spans = _spans.Of(trace.TraceId);
        var request = Assert.Single(spans, s => s.DisplayName == "upstream client_secrets");
        Assert.Equal(trace.SpanId, request.ParentSpanId);
        Assert.Equal("client_secrets", request.GetTagItem(UpstreamTracing.ResourceAttribute));
        Assert.Null(request.GetTagItem(UpstreamTracing.RefusalAttribute));
        var attempts = spans.Where(s => s.DisplayName == "upstream client_secrets attempt").OrderBy(s => (int?)s.GetTagItem(UpstreamTracing.AttemptAttribute)).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(request.SpanId, a.ParentSpanId));

        Assert.Equal((1, 429, "req_first", "rate_limit_exceeded", ActivityStatusCode.Error), Describe(attempts[0]));
        Assert.Equal((2, 200, "req_second", (string?)null, ActivityStatusCode.Unset), Describe(attempts[1]));
        Assert.All(attempts, a => Assert.Equal(0.0, a.GetTagItem(UpstreamTracing.WaitAttribute)));
    }

    [Fact]
    public async Task The_wait_for_the_shared_cooldown_is_on_the_attempt_span()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.Secret(TimeProvider.System));
        harness.Gate.Cooldown.CoolDownUntil(harness.Time.GetUtcNow() + TimeSpan.FromMilliseconds(800), "an earlier 429");
        var trace = StartTrace();

        var send = harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromMilliseconds(800));
        harness.Time.Fake.Advance(TimeSpan.FromMilliseconds(800));
        Assert.True((await send.WaitAsync(ConditionWaiter.Patience)).IsSuccess);
        trace.Stop();

        var attempt = Assert.Single(_spans.Of(trace.TraceId), s => s.DisplayName == "upstream calls attempt");
        Assert.Equal(800.0, attempt.GetTagItem(UpstreamTracing.WaitAttribute));
        Assert.Equal("calls", attempt.GetTagItem(UpstreamTracing.ResourceAttribute));
        Assert.Equal(200, attempt.GetTagItem(UpstreamTracing.StatusAttribute));
    }

    [Fact]
    public async Task A_request_refused_before_it_is_sent_says_why_on_its_span()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.Secret(TimeProvider.System));
        harness.Gate.Cooldown.CoolDownUntil(harness.Time.GetUtcNow() + TimeSpan.FromHours(1), "a long 429");
        var trace = StartTrace();

        await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));
        trace.Stop();

        Assert.Equal(0, harness.Upstream.Count);
        var spans = _spans.Of(trace.TraceId);
        var request = Assert.Single(spans, s => s.DisplayName == "upstream client_secrets");
        Assert.Equal("budget_exhausted", request.GetTagItem(UpstreamTracing.RefusalAttribute));
        Assert.Equal("rate_limited", request.GetTagItem(UpstreamTracing.ErrorTypeAttribute));
        Assert.Equal(ActivityStatusCode.Error, request.Status);
        var attempt = Assert.Single(spans, s => s.DisplayName == "upstream client_secrets attempt");
        Assert.Null(attempt.GetTagItem(UpstreamTracing.StatusAttribute));
        // The caller's own span is not marked: the refusal belongs to the upstream request.
        Assert.Null(trace.GetTagItem(UpstreamTracing.RefusalAttribute));
    }

    [Fact]
    public async Task An_insufficient_quota_answer_names_the_refusal_and_upstreams_request_id()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.InsufficientQuota("req_broke"));
        var trace = StartTrace();

        await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));
        trace.Stop();

        var request = Assert.Single(_spans.Of(trace.TraceId), s => s.DisplayName == "upstream client_secrets");
        Assert.Equal("quota_exhausted", request.GetTagItem(UpstreamTracing.RefusalAttribute));
        Assert.Equal("req_broke", request.GetTagItem(UpstreamTracing.RequestIdAttribute));
    }

    public void Dispose() => _tracing.Dispose();

    private static Activity StartTrace() => TestSource.StartActivity("test") ?? throw new InvalidOperationException("The test's tracer provider does not listen.");

    private static HttpResponseMessage SecretWithRequestId(string requestId)
    {
        var response = FakeUpstreamHandler.Secret(TimeProvider.System);
        response.Headers.Add("x-request-id", requestId);
        return response;
    }

    private static (int? Attempt, int? Status, string? RequestId, string? ErrorType, ActivityStatusCode Outcome) Describe(Activity attempt) => (
        (int?)attempt.GetTagItem(UpstreamTracing.AttemptAttribute), (int?)attempt.GetTagItem(UpstreamTracing.StatusAttribute),
        attempt.GetTagItem(UpstreamTracing.RequestIdAttribute) as string, attempt.GetTagItem(UpstreamTracing.ErrorTypeAttribute) as string, attempt.Status);
}
