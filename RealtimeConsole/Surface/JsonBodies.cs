using System.Text.Json;

namespace RealtimeConsole.Surface;

/// <summary>Parsing a JSON request body: duplicate keys refused, nesting bounded.</summary>
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
}
