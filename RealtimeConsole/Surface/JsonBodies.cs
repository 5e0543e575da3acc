using System.Text.Json;

namespace RealtimeConsole.Surface;

/// <summary>Reading a JSON request body: never more than the endpoint's limit into memory, and duplicate keys refused.</summary>
public static class JsonBodies
{
    /// <summary>Duplicate keys are an error: which of two values wins is a guess a caller should not depend on.</summary>
    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 32 };

    /// <summary>
    /// <typeparamref name="T"/> from <paramref name="bytes"/>, refusing duplicate keys anywhere in the document (the
    /// serializer alone checks only the properties it binds) with <see cref="JsonException"/>.
    /// </summary>
    public static T? Deserialize<T>(byte[] bytes, JsonSerializerOptions? options = null)
    {
        using var document = JsonDocument.Parse(bytes, DocumentOptions);
        return document.Deserialize<T>(options);
    }

    /// <summary>The body, or <see cref="BadHttpRequestException"/> (413) as soon as it passes <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[Math.Min(8192, maxBytes + 1)];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static BadHttpRequestException TooLarge(int maxBytes) =>
        new($"The body may be at most {RequestBodyGuard.Size(maxBytes)}.", StatusCodes.Status413PayloadTooLarge);
}
