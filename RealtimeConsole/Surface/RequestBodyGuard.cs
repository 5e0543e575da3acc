using Microsoft.AspNetCore.Http.Features;

namespace RealtimeConsole.Surface;

/// <summary>
/// Holds every request to its endpoint's <see cref="RequestBodyRule"/>: a declared length over the limit is refused with
/// 413 before the body is read, a body of another media type with 415, and Kestrel stops any body that grows past the
/// limit while it is read (chunked bodies). Endpoints without a rule (Blazor's, the hubs) get <see cref="DefaultMaxBytes"/>.
/// </summary>
public static class RequestBodyGuard
{
    /// <summary>Blazor's and SignalR's own requests stay far below this (their messages are at most 32 KiB).</summary>
    public const long DefaultMaxBytes = 1024 * 1024;

    /// <summary>The refusal for this request's body, or null when the endpoint may read it.</summary>
    public static IResult? Check(HttpContext context)
    {
        var request = context.Request;
        var rule = context.GetEndpoint()?.Metadata.GetMetadata<RequestBodyRule>();
        var limit = rule?.MaxBytes ?? DefaultMaxBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        // Without a Content-Length, HTTP/1.1 says so with Transfer-Encoding and HTTP/2 with its stream; the server knows which.
        var hasBody = request.ContentLength is { } length
            ? length > 0
            : context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.Headers.TransferEncoding.Count > 0;
        if (rule is { TakesBody: false } && hasBody)
        {
            return ApiErrors.For(context, StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type",
                $"{request.Method} {request.Path} takes no body; send the request without one.");
        }

        if (request.ContentLength > limit)
        {
            return ApiErrors.For(context, StatusCodes.Status413PayloadTooLarge, "payload_too_large",
                $"The request body is {request.ContentLength} bytes; {request.Method} {request.Path} accepts at most {limit} bytes ({Size(limit)}).");
        }

        if (rule is not null && hasBody && !rule.Accepts(request.ContentType))
        {
            return ApiErrors.For(context, StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type",
                $"{request.Method} {request.Path} takes a body of type {string.Join(" or ", rule.MediaTypes.Select(t => $"'{t}'"))}, not '{request.ContentType ?? "(none)"}'.");
        }

        return null;
    }

    public static string Size(long bytes) => bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";
}
