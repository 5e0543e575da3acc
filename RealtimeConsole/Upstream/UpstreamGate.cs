using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>
/// The one way a request reaches upstream, and the ONE retry loop: quota gate, shared cooldown and per-resource
/// budget (all from <see cref="IBrokerStateStore"/>) before each attempt, then a Polly pipeline per resource (retry of
/// transient failures honouring Retry-After, that resource's own circuit breaker, attempt timeout), all on the injected
/// TimeProvider. What happens is published on <see cref="UpstreamSignals"/>; the gate references no listener.
/// </summary>
public sealed class UpstreamGate
{
    public const string HttpClientName = "RealtimeUpstream";

    private readonly IHttpClientFactory _httpClients;
    private readonly UpstreamEndpoint _endpoint;
    private readonly RealtimeOptions _options;
    private readonly TimeProvider _time;
    private readonly UpstreamSignals _signals;
    private readonly IBrokerStateStore _state;
    private readonly ILogger<UpstreamGate> _logger;
    private readonly Dictionary<UpstreamResource, ResiliencePipeline<UpstreamResponse>> _pipelines = [];
    private readonly Dictionary<UpstreamResource, CircuitBreakerStateProvider> _circuits = [];

    public UpstreamGate(
        IHttpClientFactory httpClients,
        UpstreamEndpoint endpoint,
        IOptions<RealtimeOptions> options,
        TimeProvider time,
        IBrokerStateStore state,
        UpstreamSignals signals,
        ILogger<UpstreamGate> logger)
    {
        _httpClients = httpClients;
        _endpoint = endpoint;
        _options = options.Value;
        _time = time;
        _state = state;
        _signals = signals;
        _logger = logger;
        foreach (var resource in state.Budgets.Keys)
        {
            // A breaker per resource: an exhausted media side must not stop minting, and the reverse.
            _circuits[resource] = new CircuitBreakerStateProvider();
            _pipelines[resource] = BuildPipeline(resource, _circuits[resource]);
        }
    }

    public IUpstreamCooldown Cooldown => _state.Cooldown;

    public IQuotaGate Quota => _state.Quota;

    public IReadOnlyDictionary<UpstreamResource, IUpstreamBudget> Budgets => _state.Budgets;

    /// <summary>Whether <paramref name="resource"/>'s circuit holds requests back now.</summary>
    public bool IsCircuitOpen(UpstreamResource resource) =>
        _circuits.TryGetValue(resource, out var circuit) && circuit.CircuitState is CircuitState.Open or CircuitState.Isolated;

    public int MaxAttempts => _options.MaxRetryAttempts + 1;

    /// <summary>Sends one logical request (retried within the rules) and returns its successful answer, or throws <see cref="UpstreamRefusal"/>.</summary>
    public async Task<UpstreamResponse> SendAsync(UpstreamResource resource, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        using var activity = UpstreamTracing.StartRequest(resource);
        var admission = await Quota.EnterAsync(_options.MaxQueueWait, cancellationToken);
        if (!admission.MayGo)
        {
            throw Refuse(resource, UpstreamRefusal.QuotaExhausted(admission.RecheckIn, Quota.LastRequestId));
        }

        var attempt = 0;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await _pipelines[resource].ExecuteOutcomeAsync(
                async (ctx, _) =>
                {
                    try
                    {
                        return Outcome.FromResult(await AttemptAsync(resource, ++attempt, createRequest, ctx.CancellationToken));
                    }
                    catch (Exception ex)
                    {
                        return Outcome.FromException<UpstreamResponse>(ex);
                    }
                },
                context,
                0);

            if (outcome.Exception is { } exception)
            {
                throw Translate(resource, exception, cancellationToken);
            }

            return Judge(resource, outcome.Result!);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            if (admission.IsProbe)
            {
                Quota.ProbeFinished();
            }

            _signals.OnRetryFinished(resource);
        }
    }

    private async Task<UpstreamResponse> AttemptAsync(UpstreamResource resource, int attempt, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        using var activity = UpstreamTracing.StartAttempt(resource, attempt);
        var waitStarted = _time.GetTimestamp();
        var wait = Cooldown.RemainingFor(_time.GetUtcNow(), _options.CooldownReleaseJitter);
        if (wait > _options.MaxQueueWait)
        {
            throw UpstreamRefusal.BudgetExhausted(wait, $"Upstream asked us to slow down ({Cooldown.State.Reason}); every caller waits out the same cooldown.");
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken);
        }

        var budget = _state.Budgets[resource];
        var decision = await budget.AcquireAsync(_options.MaxQueueWait, cancellationToken);
        UpstreamTracing.Waited(activity, _time.GetElapsedTime(waitStarted));
        if (!decision.IsGranted)
        {
            throw UpstreamRefusal.BudgetExhausted(decision.RetryAfter, budget.Source == LimitSource.Guess
                ? $"The first {resource.ToWireName()} request is still finding out upstream's limit; this one was not sent blind."
                : $"The {resource.ToWireName()} budget ({budget.DescribeLimit()}) is used up, so the request was not sent to be refused upstream.");
        }

        var started = Stopwatch.GetTimestamp();
        UpstreamResponse response;
        try
        {
            using var request = createRequest();
            request.Headers.Authorization = new("Bearer", _endpoint.ApiKey);
            using var message = await _httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            response = await UpstreamResponse.ReadAsync(message, _time.GetUtcNow(), cancellationToken);
            if (response.ErrorMessage is { } upstreamMessage)
            {
                response = response with { ErrorMessage = ApiKeyRedaction.Redact(upstreamMessage, _endpoint.ApiKey) };
            }
        }
        catch (Exception ex)
        {
            UpstreamTracing.NoAnswer(activity, ex);
            await budget.CompleteAsync(decision.Ticket, null);
            var latency = Stopwatch.GetElapsedTime(started);
            UpstreamCallLog.UpstreamCallFailed(_logger, resource, (long)latency.TotalMilliseconds, attempt, ex.GetType().Name);
            _signals.OnCallCompleted(new UpstreamCallRecord(_time.GetUtcNow(), resource, 0, ex.GetType().Name, latency.TotalMilliseconds, attempt, null), null);
            throw;
        }

        UpstreamTracing.Answered(activity, response);
        await budget.CompleteAsync(decision.Ticket, response.RateLimits, refusedUpstream: response.Status == HttpStatusCode.TooManyRequests);
        var elapsed = Stopwatch.GetElapsedTime(started);
        UpstreamCallLog.UpstreamCall(_logger, resource, (int)response.Status, (long)elapsed.TotalMilliseconds, attempt, response.RequestId, response.ErrorCode);
        _signals.OnCallCompleted(new UpstreamCallRecord(_time.GetUtcNow(), resource, (int)response.Status, response.ErrorCode, elapsed.TotalMilliseconds, attempt, response.RequestId), response);

        if (response.Status == HttpStatusCode.TooManyRequests)
        {
            if (response.IsInsufficientQuota)
            {
                Quota.QuotaExhausted(_options.QuotaRecheckInterval, response.RequestId);
            }
            else
            {
                Cooldown.CoolDownUntil(_time.GetUtcNow() + (response.RetryAfter ?? _options.BaseRetryDelay), response.ErrorMessage ?? "429 rate_limit_exceeded");
            }
        }

        if (!response.IsInsufficientQuota)
        {
            Quota.QuotaAvailable();
        }

        return response;
    }

    private UpstreamResponse Judge(UpstreamResource resource, UpstreamResponse response)
    {
        if (response.IsSuccess)
        {
            return response;
        }

        var now = _time.GetUtcNow();
        UpstreamRefusal refusal = response switch
        {
            { IsInsufficientQuota: true } => UpstreamRefusal.QuotaExhausted((Quota.RecheckAt ?? now) - now, response.RequestId),
            { Status: HttpStatusCode.TooManyRequests } => UpstreamRefusal.UpstreamRateLimited(
                response.RetryAfter ?? Cooldown.RemainingFor(now, TimeSpan.Zero), response.ErrorMessage, response.RequestId),
            { Status: >= HttpStatusCode.InternalServerError or HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict } => UpstreamRefusal.Failed(
                $"Upstream kept failing ({(int)response.Status}{(response.ErrorCode is null ? "" : " " + response.ErrorCode)}) after {MaxAttempts} attempts.", response.RequestId),
            _ => UpstreamRefusal.Rejected(response),
        };
        throw Refuse(resource, refusal);
    }

    private Exception Translate(UpstreamResource resource, Exception exception, CancellationToken callerToken) => exception switch
    {
        OperationCanceledException when callerToken.IsCancellationRequested => exception,
        UpstreamRefusal refusal => Refuse(resource, refusal),
        BrokenCircuitException broken => Refuse(resource, UpstreamRefusal.CircuitOpen(broken.RetryAfter ?? _options.CircuitBreakDuration)),
        TimeoutRejectedException => Refuse(resource, UpstreamRefusal.Failed($"Upstream did not answer within {_options.AttemptTimeout.TotalSeconds:0.#} s ({MaxAttempts} attempts).", null)),
        HttpRequestException http => Refuse(resource, UpstreamRefusal.Failed($"Upstream could not be reached ({http.HttpRequestError}).", null)),
        _ => exception,
    };

    private UpstreamRefusal Refuse(UpstreamResource resource, UpstreamRefusal refusal)
    {
        UpstreamCallLog.Refused(_logger, resource, refusal.Code, (long)(refusal.RetryAfter ?? TimeSpan.Zero).TotalMilliseconds);
        UpstreamTracing.Refused(refusal);
        _signals.OnRefused(resource, refusal);
        return refusal;
    }

    private ResiliencePipeline<UpstreamResponse> BuildPipeline(UpstreamResource resource, CircuitBreakerStateProvider circuit)
    {
        return new ResiliencePipelineBuilder<UpstreamResponse> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<UpstreamResponse>
            {
                MaxRetryAttempts = Math.Max(1, _options.MaxRetryAttempts),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BaseRetryDelay,
                MaxDelay = _options.RetryAfterCap,
                ShouldHandle = args => ValueTask.FromResult(_options.MaxRetryAttempts > 0 && IsRetryable(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(RetryDelayFor(args.Outcome)),
                OnRetry = args =>
                {
                    UpstreamCallLog.Retrying(_logger, resource, args.AttemptNumber + 2, MaxAttempts, (long)args.RetryDelay.TotalMilliseconds);
                    _signals.OnRetrying(resource, args.AttemptNumber + 2, MaxAttempts, args.RetryDelay, _time.GetUtcNow() + args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<UpstreamResponse>
            {
                FailureRatio = _options.CircuitFailureRatio,
                MinimumThroughput = _options.CircuitMinimumThroughput,
                SamplingDuration = _options.CircuitSamplingDuration,
                BreakDuration = _options.CircuitBreakDuration,
                StateProvider = circuit,
                // Only sustained failure opens it; 429s are handled by the cooldown and a full media side is no failure.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutRejectedException } => true,
                    { Result: { IsCapacityRefusal: true } } => false,
                    { Result: { } r } => (int)r.Status >= 500,
                    _ => false,
                }),
                OnOpened = args => { UpstreamCallLog.CircuitChanged(_logger, resource, "open"); _signals.OnCircuitChanged(resource, _time.GetUtcNow() + args.BreakDuration); return ValueTask.CompletedTask; },
                OnClosed = _ => { UpstreamCallLog.CircuitChanged(_logger, resource, "closed"); _signals.OnCircuitChanged(resource, null); return ValueTask.CompletedTask; },
                OnHalfOpened = _ => { UpstreamCallLog.CircuitChanged(_logger, resource, "half-open"); _signals.OnCircuitChanged(resource, null); return ValueTask.CompletedTask; },
            })
            .AddTimeout(_options.AttemptTimeout)
            .Build();
    }

    /// <summary>Transient only: 408, 409, 5xx, rate_limit_exceeded within the cap, timeouts and connection failures.</summary>
    private bool IsRetryable(Outcome<UpstreamResponse> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Exception: not null } => false,
        { Result: { IsTransientRateLimit: true } r } => (r.RetryAfter ?? TimeSpan.Zero) <= _options.RetryAfterCap,
        // Upstream is full, not failing: asking again at once only adds load; the caller is told to come back.
        { Result: { IsCapacityRefusal: true } } => false,
        { Result: { } r } => r.Status is HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict || (int)r.Status >= 500,
        _ => false,
    };

    /// <summary>Upstream's own wait (to the millisecond) plus a release jitter; null lets Polly's decorrelated-jitter backoff decide.</summary>
    private TimeSpan? RetryDelayFor(Outcome<UpstreamResponse> outcome)
    {
        if (outcome.Result?.RetryAfter is not { } retryAfter)
        {
            return null;
        }

        var jitter = _options.CooldownReleaseJitter > TimeSpan.Zero ? _options.CooldownReleaseJitter * Random.Shared.NextDouble() : TimeSpan.Zero;
        return retryAfter + jitter;
    }
}
