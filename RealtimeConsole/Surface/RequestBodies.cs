namespace RealtimeConsole.Surface;

/// <summary>The one way a handler reads a request body: never more than its limit into memory.</summary>
public static class RequestBodies
{
    /// <summary>The whole body, or <c>TooLarge</c> as soon as it passes <paramref name="limit"/> bytes (declared or read).</summary>
    public static async Task<(byte[] Bytes, bool TooLarge)> ReadLimitedAsync(HttpRequest request, int limit)
    {
        if (request.ContentLength > limit)
        {
            return ([], true);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[Math.Min(8192, limit + 1)];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return ([], true);
            }

            buffer.Write(chunk, 0, read);
        }

        return (buffer.ToArray(), false);
    }
}
