using System.Net.Http.Headers;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.RateLimits;

public sealed class RateLimitParsingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("1s", 1000)]
    [InlineData("12ms", 12)]
    [InlineData("6m0s", 360_000)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("0.5s", 500)]
    public void Go_style_reset_durations_parse(string text, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RateLimitHeaders.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5")]
    [InlineData("1s trailing")]
    public void Unparseable_reset_durations_are_ignored(string text) => Assert.Null(RateLimitHeaders.ParseDuration(text));

    [Fact]
    public void Retry_after_ms_wins_over_retry_after()
    {
        var headers = Headers(("retry-after-ms", "1500"), ("retry-after", "9"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), RetryAfterParser.Parse(headers, Now));
    }

    [Fact]
    public void Retry_after_in_seconds_and_as_an_http_date()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), RetryAfterParser.Parse(Headers(("retry-after", "2")), Now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfterParser.Parse(Headers(("retry-after", Now.AddSeconds(30).ToString("r"))), Now));
        Assert.Equal(TimeSpan.Zero, RetryAfterParser.Parse(Headers(("retry-after", Now.AddSeconds(-30).ToString("r"))), Now));
        Assert.Null(RetryAfterParser.Parse(Headers(("retry-after", "whenever")), Now));
        Assert.Null(RetryAfterParser.Parse(Headers(), Now));
    }

    [Fact]
    public void Rate_limit_headers_are_read_and_missing_ones_stay_null()
    {
        var read = RateLimitHeaders.From(Headers(("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "59"), ("x-ratelimit-reset-requests", "1s")));
        Assert.Equal(new RateLimitHeaders(60, 59, TimeSpan.FromSeconds(1)), read);
        Assert.True(RateLimitHeaders.From(Headers(("x-ratelimit-limit-requests", "-3"))).IsEmpty);
    }

    private static HttpResponseHeaders Headers(params (string Name, string Value)[] values)
    {
        var response = new HttpResponseMessage();
        foreach (var (name, value) in values)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        return response.Headers;
    }
}
