using System.Text.Encodings.Web;
using System.Text.Json;
using RealtimeConsole.Hosting;

namespace RealtimeConsole.Simulator;

/// <summary>An OpenAI-shaped error answer: <c>{"error":{"message","type","param","code"}}</c> with its status.</summary>
public sealed class OpenAiError(int status, string message, string type, string? param, string? code) : IResult, IStatusCodeHttpResult
{
    /// <summary>Quotes and angle brackets stay readable, as in OpenAI's own bodies (these are JSON APIs, never HTML).</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public int StatusCode => status;

    int? IStatusCodeHttpResult.StatusCode => status;

    public string Message => message;

    public string Type => type;

    public string? Param => param;

    public string? Code => code;

    public static OpenAiError InvalidRequest(string message, string? param = null, string? code = null, int status = StatusCodes.Status400BadRequest) =>
        new(status, message, "invalid_request_error", param, code);

    public static OpenAiError InvalidJson() => InvalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. "
        + "The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)");

    public static OpenAiError UnknownParameter(string param) =>
        InvalidRequest($"Unknown parameter: '{param}'.", param, "unknown_parameter");

    public static OpenAiError MissingParameter(string param) =>
        InvalidRequest($"Missing required parameter: '{param}'.", param, "missing_required_parameter");

    public static OpenAiError InvalidType(string param, string expected) =>
        InvalidRequest($"Invalid type for '{param}': expected {expected}.", param, "invalid_type");

    public Task ExecuteAsync(HttpContext httpContext) => JsonWriterResult.Send(httpContext.Response, status, Write);

    public void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        writer.WriteString("param", param);
        writer.WriteString("code", code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}

/// <summary>A JSON answer written straight to the response with a <see cref="Utf8JsonWriter"/> (no reflection, few allocations).</summary>
public sealed class JsonWriterResult(int status, Action<Utf8JsonWriter> write) : IResult, IStatusCodeHttpResult
{
    public int StatusCode => status;

    int? IStatusCodeHttpResult.StatusCode => status;

    public Task ExecuteAsync(HttpContext httpContext) => Send(httpContext.Response, status, write);

    /// <summary>Writes the answer with a Content-Length, in one send (see <see cref="BufferedJson"/>).</summary>
    public static Task Send(HttpResponse response, int status, Action<Utf8JsonWriter> write) =>
        BufferedJson.WriteAsync(response, status, "application/json", OpenAiError.WriterOptions, write, static (writer, w) => w(writer));
}

/// <summary>A body with a status and content type (the SDP answers).</summary>
public sealed class TextResult(int status, string contentType, string body, string? location = null) : IResult, IStatusCodeHttpResult
{
    public int StatusCode => status;

    int? IStatusCodeHttpResult.StatusCode => status;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = status;
        httpContext.Response.ContentType = contentType;
        if (location is not null)
        {
            httpContext.Response.Headers.Location = location;
        }

        return httpContext.Response.WriteAsync(body, httpContext.RequestAborted);
    }
}
