using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// <c>dotnet run --project RealtimeConsole -- watch --url http://host:port [--api-key KEY] [--count N]</c>: prints another instance's live state
/// from <c>/hubs/telemetry</c>, one line per update, reconnecting on its own until Ctrl+C (or N updates). The key (that instance's
/// <c>Auth:ApiKey</c>) comes from <c>--api-key</c> or the <see cref="ApiKeyVariable"/> environment variable.
/// </summary>
public static class WatchCommand
{
    public const string ApiKeyVariable = "REALTIMECONSOLE_API_KEY";

    private static readonly TimeSpan ConnectRetry = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        return await RunAsync(args, Console.Out, Console.Error, stop.Token);
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        if (!TryParse(args, out var hub, out var count, out var apiKey, out var problem))
        {
            await errors.WriteLineAsync(problem);
            await errors.WriteLineAsync($"Usage: watch --url http://host:port [--api-key KEY, or {ApiKeyVariable} in the environment] [--count N]");
            return 2;
        }

        await using var connection = TelemetryHubClient.Build(hub, apiKey ?? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)));
        connection.Reconnecting += ex =>
        {
            output.WriteLine($"Connection lost ({ex?.Message ?? "closed"}); reconnecting...");
            return Task.CompletedTask;
        };
        connection.Reconnected += _ =>
        {
            output.WriteLine($"Reconnected to {hub}.");
            return Task.CompletedTask;
        };

        var printed = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (connection.State == HubConnectionState.Disconnected && !await TryStartAsync(connection, hub, output, cancellationToken))
                {
                    continue;
                }

                try
                {
                    await foreach (var state in connection.StreamAsync<DashboardState>(nameof(TelemetryHub.Snapshots), cancellationToken))
                    {
                        await output.WriteLineAsync(TelemetryText.Line(state));
                        if (++printed == count)
                        {
                            return 0;
                        }
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // The stream ends with the connection; automatic reconnect (or the loop's own start) brings it back.
                }

                if (connection.State == HubConnectionState.Connected)
                {
                    // The stream ended while the link still looks up (it is closing): pause so the loop cannot spin.
                    await Task.Delay(TelemetryHubClient.StreamReopenGap, cancellationToken);
                }

                await TelemetryHubClient.WaitUntilConnectedAsync(connection, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        return 0;
    }

    private static async Task<bool> TryStartAsync(HubConnection connection, Uri hub, TextWriter output, CancellationToken cancellationToken)
    {
        try
        {
            await connection.StartAsync(cancellationToken);
            await output.WriteLineAsync($"Watching {hub} (Ctrl+C to stop).");
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Net.WebSockets.WebSocketException)
        {
            await output.WriteLineAsync($"Cannot reach {hub}: {ex.Message}. Trying again in {ConnectRetry.TotalSeconds:0} s.");
            await Task.Delay(ConnectRetry, cancellationToken);
            return false;
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static bool TryParse(string[] args, out Uri hub, out int? count, out string? apiKey, out string problem)
    {
        hub = null!;
        count = null;
        apiKey = null;
        problem = "";
        string? url = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--url" when i + 1 < args.Length:
                    url = args[++i];
                    break;
                case "--api-key" when i + 1 < args.Length && args[i + 1].Length > 0:
                    apiKey = args[++i];
                    break;
                case "--count" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0:
                    count = n;
                    i++;
                    break;
                default:
                    problem = $"Unknown or incomplete option '{args[i]}'.";
                    return false;
            }
        }

        if (!TelemetryHubClient.TryHubUri(url, out hub))
        {
            problem = url is null ? "Missing --url." : $"'{url}' is not an http(s) URL of a running RealtimeConsole.";
            return false;
        }

        return true;
    }
}

/// <summary>The SignalR client side of <c>/hubs/telemetry</c>, shared by the watch verb and the dashboard's remote mode.</summary>
public static class TelemetryHubClient
{
    /// <summary>Pause before reopening a stream that ended while the connection still looked up, so a closing link cannot spin.</summary>
    public static readonly TimeSpan StreamReopenGap = TimeSpan.FromMilliseconds(250);

    public static bool TryHubUri(string? url, out Uri hub)
    {
        hub = TryInstanceUri(url, out var root) ? new Uri(root, TelemetryHubFeature.HubPath) : null!;
        return hub is not null;
    }

    /// <summary>The instance's root (<c>http://host:port/</c>) from what a person typed or pasted, such as its <c>/limits</c> page.</summary>
    public static bool TryInstanceUri(string? url, out Uri root)
    {
        root = null!;
        if (!Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var typed) || typed.Scheme is not ("http" or "https") || string.IsNullOrEmpty(typed.Host))
        {
            return false;
        }

        root = new Uri(typed.GetLeftPart(UriPartial.Authority) + "/");
        return true;
    }

    public static HubConnection Build(Uri hub, string? apiKey = null) => Build(hub, new ForeverRetry(), apiKey);

    /// <summary>
    /// WebSockets straight away, without negotiation: the only request is the upgrade to <paramref name="hub"/>, no redirect is followed
    /// and no token or address from the other side's negotiate answer is used; the bearer key is ours (from configuration) or none.
    /// </summary>
    public static HubConnection Build(Uri hub, IRetryPolicy retry, string? apiKey = null) => new HubConnectionBuilder()
        .WithUrl(hub, options =>
        {
            options.SkipNegotiation = true;
            options.Transports = HttpTransportType.WebSockets;
            options.WebSocketFactory = async (context, cancellationToken) =>
            {
                var socket = new ClientWebSocket();
                if (apiKey is not null)
                {
                    socket.Options.SetRequestHeader("Authorization", $"Bearer {apiKey}");
                }

                try
                {
                    await socket.ConnectAsync(context.Uri, NoRedirects, cancellationToken);
                    return socket;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        })
        .WithAutomaticReconnect(retry)
        .Build();

    /// <summary>The upgrade request's handler: a 3xx answer fails the connect instead of sending the key somewhere else; no cookies.</summary>
    private static readonly HttpMessageInvoker NoRedirects = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });

    /// <summary>Waits while the client reconnects; returns at once when connected or fully disconnected (the caller starts again).</summary>
    public static async Task WaitUntilConnectedAsync(HubConnection connection, CancellationToken cancellationToken)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task OnReady(string? _)
        {
            ready.TrySetResult();
            return Task.CompletedTask;
        }

        Task OnClosed(Exception? _)
        {
            ready.TrySetResult();
            return Task.CompletedTask;
        }

        connection.Reconnected += OnReady;
        connection.Closed += OnClosed;
        try
        {
            if (connection.State is HubConnectionState.Reconnecting or HubConnectionState.Connecting)
            {
                await ready.Task.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            connection.Reconnected -= OnReady;
            connection.Closed -= OnClosed;
        }
    }

    /// <summary>Retries every 0, 2, 5, then 10 seconds, without giving up.</summary>
    private sealed class ForeverRetry : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) => retryContext.PreviousRetryCount switch
        {
            0 => TimeSpan.Zero,
            1 => TimeSpan.FromSeconds(2),
            2 => TimeSpan.FromSeconds(5),
            _ => TimeSpan.FromSeconds(10),
        };
    }
}
