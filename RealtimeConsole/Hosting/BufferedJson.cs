using System.Buffers;
using System.Text.Json;

namespace RealtimeConsole.Hosting;

/// <summary>
/// Small JSON answers written into a per-thread buffer first, then to the response with a Content-Length, so each leaves
/// in one send (a body streamed through a writer goes out chunked, with a second send for the last chunk).
/// </summary>
public static class BufferedJson
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    public static Task WriteAsync<TState>(HttpResponse response, int status, string contentType, JsonWriterOptions options, TState state, Action<Utf8JsonWriter, TState> write)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(2048);
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            write(writer, state);
        }

        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = buffer.WrittenCount;
        // Copied into Kestrel's pipe before this returns, so the buffer is free again; Kestrel flushes when the request ends.
        response.BodyWriter.Write(buffer.WrittenSpan);
        return Task.CompletedTask;
    }
}
