using System.Net;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Upstream;

public sealed class UpstreamGateTests
{
    private static Func<HttpRequestMessage> Mint => () => new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/v1/realtime/client_secrets");

    [Fact]
    public async Task Retry_after_ms_is_honoured_to_the_millisecond()
    {
        using var harness = new BrokerHarness((_, n) => n == 1 ? FakeUpstreamHandler.RateLimited(retryAfterMs: "1500", retryAfter: "9") : FakeUpstreamHandler.Secret(TimeProvider.System));
        var start = harness.Time.GetUtcNow();

        var send = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromMilliseconds(1500));
        harness.Time.Fake.Advance(TimeSpan.FromMilliseconds(1499));
        Assert.Equal(1, harness.Upstream.Count);

        harness.Time.Fake.Advance(TimeSpan.FromMilliseconds(1));
        var response = await send.WaitAsync(ConditionWaiter.Patience);

        Assert.True(response.IsSuccess);
        Assert.Equal(2, harness.Upstream.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), harness.Upstream.Requests.Last().At - start);
    }

    [Fact]
    public async Task Retry_after_seconds_is_used_when_there_is_no_retry_after_ms()
    {
        using var harness = new BrokerHarness((_, n) => n == 1 ? FakeUpstreamHandler.RateLimited(retryAfter: "3") : FakeUpstreamHandler.Secret(TimeProvider.System));
        var send = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromSeconds(3));
        harness.Time.Fake.Advance(TimeSpan.FromSeconds(3));
        Assert.True((await send.WaitAsync(ConditionWaiter.Patience)).IsSuccess);
        Assert.Equal(2, harness.Upstream.Count);
    }

    [Fact]
    public async Task Retry_after_beyond_the_cap_fails_fast_and_says_how_long()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.RateLimited(retryAfter: "410400"));

        var refusal = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));

        Assert.Equal(1, harness.Upstream.Count);
        Assert.Equal(HttpStatusCode.TooManyRequests, refusal.Status);
        Assert.Equal(TimeSpan.FromHours(114), refusal.RetryAfter);
        Assert.Equal("req_429", refusal.UpstreamRequestId);
    }

    [Fact]
    public async Task Insufficient_quota_is_never_retried_and_nothing_is_sent_until_the_recheck()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.InsufficientQuota(), new() { ["Realtime:QuotaRecheckInterval"] = "00:01:00" });

        var first = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.Status);
        Assert.Equal("insufficient_quota", first.Code);
        Assert.Contains("quota", first.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Upstream.Count);

        harness.Time.Fake.Advance(TimeSpan.FromSeconds(59));
        for (var i = 0; i < 5; i++)
        {
            var again = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None));
            Assert.Equal("insufficient_quota", again.Code);
            Assert.Equal("req_quota", again.UpstreamRequestId);
        }

        Assert.Equal(1, harness.Upstream.Count);
        Assert.Equal(BackoffKind.QuotaExhausted, harness.Telemetry.GetSnapshot().Backoff.Kind);

        harness.Time.Fake.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));
        Assert.Equal(2, harness.Upstream.Count);
    }

    [Fact]
    public async Task Concurrent_callers_behind_an_exhausted_quota_cost_one_upstream_request()
    {
        var answer = new TaskCompletionSource();
        using var harness = new BrokerHarness((_, _) =>
        {
            answer.Task.Wait(ConditionWaiter.Patience);
            return FakeUpstreamHandler.InsufficientQuota();
        });

        var callers = Enumerable.Range(0, 50).Select(_ => Task.Run(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None))).ToArray();
        await harness.Upstream.WaitForRequestAsync(1);
        answer.SetResult();

        foreach (var caller in callers)
        {
            Assert.Equal("insufficient_quota", (await Assert.ThrowsAsync<UpstreamRefusal>(() => caller.WaitAsync(ConditionWaiter.Patience))).Code);
        }

        Assert.Equal(1, harness.Upstream.Count);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task Client_errors_other_than_408_409_429_are_not_retried(HttpStatusCode status)
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.Json(status, """{"error":{"message":"no","type":"invalid_request_error","code":"invalid_api_key"}}""", "req_4xx"));

        var refusal = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));

        Assert.Equal(1, harness.Upstream.Count);
        // About the caller's request (400, 404): passed on as it is; about our key (401, 403): this gateway's failure.
        Assert.Equal(status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound ? status : HttpStatusCode.BadGateway, refusal.Status);
        Assert.Equal("req_4xx", refusal.UpstreamRequestId);
        Assert.Contains("invalid_api_key", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_then_reported_as_502_with_the_request_id()
    {
        using var harness = new BrokerHarness((_, n) => FakeUpstreamHandler.Json(HttpStatusCode.InternalServerError, """{"error":{"message":"boom","type":"server_error","code":null}}""", $"req_500_{n}"));

        var send = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        for (var attempt = 2; attempt <= 3; attempt++)
        {
            // Decorrelated jitter: the delay is random, so wait for the retry's timer (not the 10 s attempt timeout) and
            // advance the fake clock by exactly its due time.
            await harness.Upstream.WaitForRequestAsync(attempt - 1);
            var retryDelay = await harness.Time.NextTimerAsync(due => due > TimeSpan.Zero && due < TimeSpan.FromSeconds(10));
            harness.Time.Fake.Advance(retryDelay);
        }

        var refusal = await Assert.ThrowsAsync<UpstreamRefusal>(() => send.WaitAsync(ConditionWaiter.Patience));
        Assert.Equal(3, harness.Upstream.Count);
        Assert.Equal(HttpStatusCode.BadGateway, refusal.Status);
        Assert.Equal("req_500_3", refusal.UpstreamRequestId);
        Assert.Equal(2, harness.Telemetry.GetSnapshot().Resources.Single(r => r.Resource == "client_secrets").Retries);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, "call_not_found", HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.BadRequest, "invalid_offer", HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized, "invalid_api_key", HttpStatusCode.BadGateway)]
    public async Task A_refusal_about_the_callers_request_stays_a_4xx_and_one_about_our_key_is_a_502(HttpStatusCode upstream, string code, HttpStatusCode expected)
    {
        using var harness = new BrokerHarness((_, n) => FakeUpstreamHandler.Json(upstream, $$$"""{"error":{"message":"no","type":"invalid_request_error","code":"{{{code}}}"}}""", $"req_{n}"));

        var refusal = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None).WaitAsync(ConditionWaiter.Patience));

        Assert.Equal(expected, refusal.Status);
        Assert.Equal(1, harness.Upstream.Count);
    }

    [Fact]
    public async Task Each_resource_has_its_own_circuit_so_failing_calls_do_not_stop_minting()
    {
        using var harness = new BrokerHarness(
            (request, n) => request.RequestUri!.AbsolutePath.EndsWith("/calls", StringComparison.Ordinal)
                ? FakeUpstreamHandler.Json(HttpStatusCode.InternalServerError, """{"error":{"message":"boom","type":"server_error","code":null}}""", $"req_{n}")
                : FakeUpstreamHandler.Json(HttpStatusCode.OK, """{"value":"ek_1","expires_at":4102444800}""", $"req_{n}"),
            new() { ["Realtime:MaxRetryAttempts"] = "0", ["Realtime:CircuitMinimumThroughput"] = "2" });

        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, () => new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/v1/realtime/calls"), CancellationToken.None));
        }

        Assert.True(harness.Gate.IsCircuitOpen(UpstreamResource.Calls));
        Assert.False(harness.Gate.IsCircuitOpen(UpstreamResource.ClientSecrets));
        var minted = await harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, minted.Status);
    }

    [Fact]
    public async Task Sustained_server_errors_open_the_circuit_and_later_callers_get_503_without_sending()
    {
        using var harness = new BrokerHarness(
            (_, _) => FakeUpstreamHandler.Json(HttpStatusCode.BadGateway, """{"error":{"message":"bad gateway","type":"server_error","code":null}}"""),
            new() { ["Realtime:MaxRetryAttempts"] = "0", ["Realtime:CircuitMinimumThroughput"] = "4", ["Realtime:CircuitBreakDuration"] = "00:00:15" });

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.BadGateway, (await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None))).Status);
        }

        var open = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "upstream_unavailable"), (open.Status, open.Code));
        Assert.NotNull(open.RetryAfter);
        Assert.Equal(4, harness.Upstream.Count);
        Assert.Equal(BackoffKind.CircuitOpen, harness.Telemetry.GetSnapshot().Backoff.Kind);

        harness.Time.Fake.Advance(TimeSpan.FromSeconds(15));
        await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None));
        Assert.Equal(5, harness.Upstream.Count);
    }

    [Fact]
    public async Task After_an_upstream_429_every_caller_shares_the_cooldown_instead_of_sending()
    {
        using var harness = new BrokerHarness(
            (_, n) => n == 1 ? FakeUpstreamHandler.RateLimited(retryAfterMs: "10000") : FakeUpstreamHandler.Secret(TimeProvider.System),
            new() { ["Realtime:MaxRetryAttempts"] = "0" });

        await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None));
        var other = await Assert.ThrowsAsync<UpstreamRefusal>(() => harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None));

        Assert.Equal(1, harness.Upstream.Count);
        Assert.Equal(RefusalKind.BudgetExhausted, other.Kind);
        Assert.Equal(TimeSpan.FromSeconds(10), other.RetryAfter);
        Assert.Equal(BackoffKind.CoolingDown, harness.Telemetry.GetSnapshot().Backoff.Kind);

        harness.Time.Fake.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await harness.Gate.SendAsync(UpstreamResource.Calls, Mint, CancellationToken.None)).IsSuccess);
    }

    [Fact]
    public async Task Budget_corrected_from_headers_holds_the_next_request_until_upstream_has_a_slot()
    {
        using var harness = new BrokerHarness((_, _) => WithLimits(FakeUpstreamHandler.Secret(TimeProvider.System), "60", "0", "60s"));

        Assert.True((await harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None)).IsSuccess);
        Assert.Equal(0, harness.Gate.Budgets[UpstreamResource.ClientSecrets].Available);

        // Without the correction the local bucket would still hold 59 requests and send at once.
        var second = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        harness.Time.Fake.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, harness.Upstream.Count);
        harness.Time.Fake.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await second.WaitAsync(ConditionWaiter.Patience)).IsSuccess);
        Assert.Equal(2, harness.Upstream.Count);

        var limits = harness.Telemetry.GetSnapshot().Resources.Single(r => r.Resource == "client_secrets").LastRateLimits.Single();
        Assert.Equal((60, 0, 60.0), (limits.Limit!.Value, limits.Remaining!.Value, limits.ResetSeconds!.Value));
    }

    [Fact]
    public async Task Budget_exhausted_for_longer_than_the_queue_wait_answers_429_with_the_next_slot_without_sending()
    {
        using var harness = new BrokerHarness((_, _) => WithLimits(FakeUpstreamHandler.Secret(TimeProvider.System), "60", "0", "6m0s"));
        await harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);

        var refused = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        harness.Time.Fake.Advance(TimeSpan.FromSeconds(2));
        var refusal = await Assert.ThrowsAsync<UpstreamRefusal>(() => refused.WaitAsync(ConditionWaiter.Patience));

        Assert.Equal(1, harness.Upstream.Count);
        Assert.Equal(HttpStatusCode.TooManyRequests, refusal.Status);
        Assert.Equal("rate_limited", refusal.Code);
        Assert.InRange(refusal.RetryAfter!.Value, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(6));
        Assert.Equal(1, harness.Telemetry.GetSnapshot().Resources.Single(r => r.Resource == "client_secrets").RefusedLocally);
    }

    private static HttpResponseMessage WithLimits(HttpResponseMessage response, string limit, string remaining, string reset)
    {
        response.Headers.Add("x-ratelimit-limit-requests", limit);
        response.Headers.Add("x-ratelimit-remaining-requests", remaining);
        response.Headers.Add("x-ratelimit-reset-requests", reset);
        return response;
    }

    [Fact]
    public async Task A_caller_cancelling_during_the_retry_wait_stops_and_sends_nothing_more()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.RateLimited(retryAfterMs: "1500"));
        using var cancel = new CancellationTokenSource();

        var send = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, cancel.Token);
        await harness.Time.WaitForTimerAsync(TimeSpan.FromMilliseconds(1500));
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(ConditionWaiter.Patience));
        harness.Time.Fake.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, harness.Upstream.Count);
    }

    [Fact]
    public async Task Every_upstream_call_carries_the_server_key_and_is_recorded()
    {
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.Secret(TimeProvider.System));
        var seen = new List<UpstreamCallRecord>();
        harness.Telemetry.UpstreamCallRecorded += seen.Add;

        await harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);

        Assert.Equal("Bearer sk-test-harness", harness.Upstream.Requests.Single().Request.Headers.Authorization!.ToString());
        var call = Assert.Single(seen);
        Assert.Equal((UpstreamResource.ClientSecrets, 200, 1), (call.Resource, call.Status, call.Attempt));
        Assert.Equal(call, harness.Telemetry.GetSnapshot().RecentCalls.Single());
    }
}
