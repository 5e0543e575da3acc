using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using StackExchange.Redis;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// The SignalR Redis backplane for one hub, except that a watcher can still connect and disconnect while Redis is down:
/// the backplane's per-connection subscriptions then fail, so the connection works on this instance only (its streams
/// never go through Redis) and hears other instances' broadcasts again once Redis is back. Sends go straight through.
/// </summary>
public sealed partial class OutageTolerantHubLifetimeManager<THub> : HubLifetimeManager<THub>, IDisposable where THub : Hub
{
    private readonly RedisHubLifetimeManager<THub> _backplane;
    private readonly ILogger<OutageTolerantHubLifetimeManager<THub>> _logger;

    /// <summary>Connections that came while Redis was down, which the backplane may know only in part.</summary>
    private readonly ConcurrentDictionary<string, bool> _localOnly = new();

    public OutageTolerantHubLifetimeManager(IServiceProvider services, ILogger<OutageTolerantHubLifetimeManager<THub>> logger)
    {
        // Owned here, not by the container: its disposal unsubscribes synchronously and throws while Redis is away.
        _backplane = ActivatorUtilities.CreateInstance<RedisHubLifetimeManager<THub>>(services);
        _logger = logger;
    }

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        try
        {
            await _backplane.OnConnectedAsync(connection);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _localOnly[connection.ConnectionId] = true;
            LogLocalOnly(_logger, connection.ConnectionId, e.Message);
        }
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        var localOnly = _localOnly.TryRemove(connection.ConnectionId, out _);
        try
        {
            await _backplane.OnDisconnectedAsync(connection);
        }
        catch (Exception e) when (e is RedisException or TimeoutException || (localOnly && e is NullReferenceException))
        {
            // A NullReference only for a connection the backplane never finished registering (it lacks the backplane's feature).
            LogCleanupFailed(_logger, connection.ConnectionId, e.Message);
        }
    }

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendAllAsync(methodName, args, cancellationToken);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        _backplane.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendConnectionAsync(connectionId, methodName, args, cancellationToken);

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendConnectionsAsync(connectionIds, methodName, args, cancellationToken);

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendGroupAsync(groupName, methodName, args, cancellationToken);

    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendGroupsAsync(groupNames, methodName, args, cancellationToken);

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        _backplane.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendUserAsync(userId, methodName, args, cancellationToken);

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        _backplane.SendUsersAsync(userIds, methodName, args, cancellationToken);

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        _backplane.AddToGroupAsync(connectionId, groupName, cancellationToken);

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        _backplane.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);

    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        _backplane.InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);

    public override Task SetConnectionResultAsync(string connectionId, Microsoft.AspNetCore.SignalR.Protocol.CompletionMessage result) =>
        _backplane.SetConnectionResultAsync(connectionId, result);

    public override bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) =>
        _backplane.TryGetReturnType(invocationId, out type);

    public void Dispose()
    {
        try
        {
            _backplane.Dispose();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Shutting down during an outage: the subscriptions die with the connection.
            LogCleanupFailed(_logger, "(all)", e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telemetry watcher {ConnectionId} connected while the backplane (Redis) is unreachable; it sees this instance only ({Reason}).")]
    private static partial void LogLocalOnly(ILogger logger, string connectionId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The backplane could not forget watcher {ConnectionId} ({Reason}); Redis drops its subscriptions with the connection anyway.")]
    private static partial void LogCleanupFailed(ILogger logger, string connectionId, string reason);
}
