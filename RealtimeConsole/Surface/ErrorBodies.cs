namespace RealtimeConsole.Surface;

/// <summary>
/// Gives every error answer that left the pipeline without a body a JSON one (<see cref="ApiErrors"/>): 404 and 405 from
/// routing, 401/403 from authorization, 400 from host filtering. Runs outermost (<see cref="SurfaceFeature"/> puts it first) so
/// even requests the host filter refuses get a message.
/// </summary>
public sealed class ErrorBodies(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);

        var response = context.Response;
        if (response.StatusCode < 400 || response.HasStarted || response.ContentLength is > 0 || !string.IsNullOrEmpty(response.ContentType))
        {
            return;
        }

        var (code, message) = ApiErrors.Describe(context, response.StatusCode);
        response.ContentLength = null;
        await ApiErrors.For(context, response.StatusCode, code, message).ExecuteAsync(context);
    }
}
