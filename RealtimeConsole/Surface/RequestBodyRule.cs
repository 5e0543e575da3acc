using Microsoft.Net.Http.Headers;

namespace RealtimeConsole.Surface;

/// <summary>
/// What an endpoint takes as a body: the media types it reads and the most bytes it reads. Stated on each API endpoint
/// (or its group) with <see cref="RequestBodyRules"/>; <see cref="RequestBodyGuard"/> refuses anything else before a
/// byte of the body is read.
/// </summary>
public sealed record RequestBodyRule(long MaxBytes, IReadOnlyList<string> MediaTypes)
{
    public const string Json = "application/json";

    /// <summary>Takes no body at all: any body is refused (415), so a form or text/plain post from elsewhere never lands.</summary>
    public static readonly RequestBodyRule None = new(0, []);

    public bool TakesBody => MediaTypes.Count > 0;

    public bool Accepts(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed))
        {
            return false;
        }

        foreach (var accepted in MediaTypes)
        {
            if (parsed.MediaType.Equals(accepted, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

public static class RequestBodyRules
{
    /// <summary>A JSON body of at most <paramref name="maxBytes"/>.</summary>
    public static TBuilder AcceptsJsonBody<TBuilder>(this TBuilder builder, long maxBytes)
        where TBuilder : IEndpointConventionBuilder => builder.AcceptsBody(maxBytes, RequestBodyRule.Json);

    public static TBuilder TakesNoBody<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(RequestBodyRule.None);

    public static TBuilder AcceptsBody<TBuilder>(this TBuilder builder, long maxBytes, params string[] mediaTypes)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new RequestBodyRule(maxBytes, mediaTypes));
}
