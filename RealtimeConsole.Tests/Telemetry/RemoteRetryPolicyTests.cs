using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Telemetry;

namespace RealtimeConsole.Tests.Telemetry;

public sealed class RemoteRetryPolicyTests
{
    [Fact]
    public void Each_retry_is_announced_with_its_number_and_its_time_on_the_injected_clock_and_it_never_gives_up()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var announced = new List<(int Attempt, DateTimeOffset At, Exception? Why)>();
        var policy = new RemoteRetryPolicy(time, RemoteRetryPolicy.DefaultDelays, (attempt, at, why) => announced.Add((attempt, at, why)));
        var refused = new HttpRequestException("Connection refused (10.1.2.3:5000)");

        var delays = Enumerable.Range(0, 7).Select(i =>
        {
            var delay = policy.NextRetryDelay(new RetryContext { PreviousRetryCount = i, ElapsedTime = TimeSpan.Zero, RetryReason = refused });
            time.Advance(TimeSpan.FromSeconds(1));
            return delay;
        }).ToList();

        Assert.Equal(new TimeSpan?[] { TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10) }, delays);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], announced.Select(a => a.Attempt));
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 0, 3, TimeSpan.Zero) + TimeSpan.FromSeconds(5), announced[3].At);
        Assert.All(announced, a => Assert.Same(refused, a.Why));
    }

    [Fact]
    public void Why_a_link_failed_is_said_in_words()
    {
        Assert.Equal("The instance closed the connection.", RemoteTelemetryFeed.Explain(null));
        Assert.Equal("Cannot reach it: Connection refused (10.1.2.3:5000)", RemoteTelemetryFeed.Explain(new HttpRequestException("Connection refused (10.1.2.3:5000)")));
        Assert.Equal("No telemetry hub at this address (404): is it a RealtimeConsole?", RemoteTelemetryFeed.Explain(new HttpRequestException("x", null, HttpStatusCode.NotFound)));
        Assert.Equal("The instance answered 503 ServiceUnavailable.", RemoteTelemetryFeed.Explain(new HttpRequestException("x", null, HttpStatusCode.ServiceUnavailable)));
        Assert.Equal("The instance dropped the connection: it may have stopped or restarted.", RemoteTelemetryFeed.Explain(new System.Net.WebSockets.WebSocketException()));
    }
}
