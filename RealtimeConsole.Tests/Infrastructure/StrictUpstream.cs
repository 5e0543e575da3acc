using System.Globalization;
using System.Net;
using System.Text;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// Requests per minute with continuous refill, headers on every answer, 429 when over; or always insufficient_quota.
/// Refills on <paramref name="time"/> (the machine's clock unless a test shares its fake one with the app).
/// </summary>
public sealed class StrictUpstream(int requestsPerMinute, bool outOfQuota, TimeProvider? time = null) : HttpMessageHandler
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private double _tokens = requestsPerMinute;
    private DateTimeOffset _last = (time ?? TimeProvider.System).GetUtcNow();
    private int _requests;
    private int _rateLimited;
    private int _stormLeft;
    private TimeSpan _stormRetryAfter;
    private bool _outOfQuota = outOfQuota;

    public int Requests => Volatile.Read(ref _requests);

    public int RateLimited => Volatile.Read(ref _rateLimited);

    /// <summary>The next <paramref name="requests"/> answers are 429 rate_limit_exceeded with this Retry-After, whatever the level.</summary>
    public void StartStorm(int requests, TimeSpan retryAfter)
    {
        lock (_gate)
        {
            _stormLeft = requests;
            _stormRetryAfter = retryAfter;
        }
    }

    /// <summary>Whether every answer is insufficient_quota from now on.</summary>
    public bool OutOfQuota
    {
        get { lock (_gate) { return _outOfQuota; } }
        set { lock (_gate) { _outOfQuota = value; } }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        if (OutOfQuota)
        {
            return Task.FromResult(Json(HttpStatusCode.TooManyRequests,
                """{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"""));
        }

        bool admitted;
        double tokens;
        lock (_gate)
        {
            if (_stormLeft > 0)
            {
                _stormLeft--;
                Interlocked.Increment(ref _rateLimited);
                var storm = Json(HttpStatusCode.TooManyRequests, """{"error":{"message":"Rate limit reached (storm)","type":"requests","param":null,"code":"rate_limit_exceeded"}}""");
                storm.Headers.Add("retry-after-ms", _stormRetryAfter.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture));
                return Task.FromResult(storm);
            }

            var now = _time.GetUtcNow();
            _tokens = Math.Min(requestsPerMinute, _tokens + ((now - _last).TotalMinutes * requestsPerMinute));
            _last = now;
            admitted = _tokens >= 1;
            if (admitted)
            {
                _tokens -= 1;
            }

            tokens = _tokens;
        }

        var perRequest = 60.0 / requestsPerMinute;
        HttpResponseMessage response;
        if (admitted)
        {
            var secret = "ek_" + Guid.NewGuid().ToString("N");
            response = Json(HttpStatusCode.OK, $$$"""{"value":"{{{secret}}}","expires_at":{{{_time.GetUtcNow().ToUnixTimeSeconds() + 600}}},"session":{"type":"realtime"}}""");
        }
        else
        {
            Interlocked.Increment(ref _rateLimited);
            response = Json(HttpStatusCode.TooManyRequests, """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""");
            response.Headers.Add("retry-after-ms", ((1 - tokens) * perRequest * 1000).ToString("0", CultureInfo.InvariantCulture));
        }

        response.Headers.Add("x-ratelimit-limit-requests", requestsPerMinute.ToString(CultureInfo.InvariantCulture));
        response.Headers.Add("x-ratelimit-remaining-requests", ((int)Math.Floor(tokens)).ToString(CultureInfo.InvariantCulture));
        response.Headers.Add("x-ratelimit-reset-requests", ((requestsPerMinute - tokens) * perRequest).ToString("0.###", CultureInfo.InvariantCulture) + "s");
        return Task.FromResult(response);
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
}
