namespace RealtimeConsole.Surface;

/// <summary>
/// Refuses state-changing requests (and WebSocket upgrades, which read the telemetry streams) that a browser sent from
/// another site: when an <c>Origin</c> header is present it must name this host. Clients that are not browsers send no
/// Origin and pass; a page elsewhere cannot switch on a fault or open a hub in a browser that can reach the console.
/// </summary>
public static class CrossSiteRequests
{
    public static bool IsRefused(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method))
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                return false;
            }
        }

        var origin = request.Headers.Origin;
        if (origin.Count == 0)
        {
            return false;
        }

        return origin.Count > 1 || !IsSameHost(origin.ToString(), request.Host);
    }

    /// <summary>Host and port, not scheme: behind a proxy that ends TLS the console sees http for an https page.</summary>
    public static bool IsSameHost(string origin, HostString host)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !host.HasValue)
        {
            return false;
        }

        var port = host.Port ?? (uri.Scheme == "https" ? 443 : 80);
        return uri.Port == port && string.Equals(uri.Host, host.Host, StringComparison.OrdinalIgnoreCase);
    }
}
